from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.api.deps import INVALID_INPUT, AdminAccess, SettingsDep, WriteAccess, ok_unless_created, or_not_found
from app.api.params import RowId
from app.db import SessionDep
from app.errors import NotFound
from app.feeds.registration import register_feed
from app.pagination import CursorParam, Limit, decode_id_cursor, encode_cursor
from app.schemas import FeedCreate, FeedDeleted, FeedRead, Page
from app.store import feeds as feed_store

router = APIRouter(prefix="/feeds", tags=["feeds"])


@router.post(
    "",
    dependencies=[WriteAccess],
    response_model=FeedRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": FeedRead, "description": "A feed with this url existed and was updated"},
        **INVALID_INPUT,
    },
)
def create_feed(data: FeedCreate, session: SessionDep, settings: SettingsDep, response: Response) -> FeedRead:
    """Register an RSS or Atom feed (or update the one with this url). It is polled at once, then
    every `poll_interval_seconds`; new entries are ingested like POST /v1/articles. A url on a
    loopback, private or other non-public address is refused (422 naming `url`), unless the
    operator allows them (STANCELINE_FEED_ALLOW_PRIVATE); a host name that resolves to one fails
    its polls with `error_kind` `blocked_address`."""
    feed, created = register_feed(session, data, allow_private=settings.feed_allow_private)
    ok_unless_created(response, created)
    return FeedRead.model_validate(feed)


@router.get("", response_model=Page[FeedRead], responses=INVALID_INPUT)
def list_feeds(session: SessionDep, limit: Limit = 100, cursor: CursorParam = None) -> Page[FeedRead]:
    """Every feed with its polling state: last fetch, last error (`error_kind` and a fixed message)
    and backoff, next poll."""
    after = decode_id_cursor(cursor) if cursor is not None else 0
    rows = feed_store.list_feeds(session, after_id=after, limit=limit + 1)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    return Page[FeedRead](items=[FeedRead.model_validate(f) for f in items], next_cursor=next_cursor)


@router.get("/{feed_id}", response_model=FeedRead, responses={404: {}})
def get_feed(feed_id: RowId, session: SessionDep) -> FeedRead:
    return FeedRead.model_validate(
        or_not_found(feed_store.get_feed(session, feed_id=feed_id), "feed", feed_id)
    )


@router.delete("/{feed_id}", dependencies=[AdminAccess], response_model=FeedDeleted, responses={404: {}})
def delete_feed(feed_id: RowId, session: SessionDep) -> FeedDeleted:
    """Stop polling a feed and forget it (the articles it brought stay)."""
    if not feed_store.delete_feed(session, feed_id=feed_id):
        raise NotFound("feed", feed_id)
    return FeedDeleted(feed_id=feed_id)
