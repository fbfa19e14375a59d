from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from app.api.convert import topic_read
from app.api.deps import AdminAccess, ReadScopeDep, ok_unless_created, or_not_found
from app.api.jobs import ReextractAfterWriteDep
from app.api.params import SlugPath
from app.api.read_cache import CACHED_RESPONSES, cached_read, json_response
from app.db import InlineReaderDep, SessionDep
from app.pagination import CursorParam, Limit, decode_cursor, encode_cursor
from app.registry import edits as registry
from app.schemas import Page, TopicCreate, TopicRead, TopicUpdate, TopicWritten
from app.store import topics as topic_store

router = APIRouter(prefix="/topics", tags=["registry"])


@router.get("", response_model=Page[TopicRead], responses=CACHED_RESPONSES)
async def list_topics(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Response:
    """Topics by slug. The ETag changes whenever the registry does: send it back in
    `If-None-Match` to get a 304 while it is current."""
    return await cached_read(
        request, reader, read_scope, lambda s: json_response(_topic_page(s, limit, cursor))
    )


def _topic_page(session: Session, limit: int, cursor: str | None) -> Page[TopicRead]:
    after = str(decode_cursor(cursor, 1)[0]) if cursor else None
    rows = topic_store.list_topics(session, after_slug=after, limit=limit + 1)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].slug) if len(rows) > limit else None
    return Page[TopicRead](items=[topic_read(t) for t in items], next_cursor=next_cursor)


@router.post(
    "",
    dependencies=[AdminAccess],
    response_model=TopicWritten,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": TopicWritten, "description": "Already stored with the same fields: unchanged"},
        409: {"description": "The slug is taken by a topic with other fields"},
        422: {},
    },
)
def create_topic(
    data: TopicCreate, session: SessionDep, response: Response, reextraction: ReextractAfterWriteDep
) -> TopicWritten:
    """Add a topic. Sending the same topic again (a retry, or a racing request) answers 200 with the
    stored topic; the same slug with other fields is 409 `topic_exists` naming `slug`.

    A new topic also applies to the articles already stored: those whose text holds one of its
    keywords are re-extracted in the background (`reextraction` names the job; none with
    `reextract=false`)."""
    written = registry.create_topic_with_reach(session, data)
    ok_unless_created(response, written.created)
    started = reextraction.start(session, written.reach, reason=f"topic {data.slug} created")
    return TopicWritten(**dict(_topic(session, written.item.slug)), reextraction=started)


@router.get("/{slug}", response_model=TopicRead, responses={**CACHED_RESPONSES, 404: {}})
async def get_topic(
    slug: SlugPath, request: Request, reader: InlineReaderDep, read_scope: ReadScopeDep
) -> Response:
    """One topic (cached as `list_topics`)."""
    return await cached_read(request, reader, read_scope, lambda s: json_response(_topic(s, slug)))


def _topic(session: Session, slug: str) -> TopicRead:
    return topic_read(or_not_found(topic_store.get_topic(session, slug=slug), "topic", slug))


@router.patch(
    "/{slug}", dependencies=[AdminAccess], response_model=TopicWritten, responses={404: {}, 422: {}}
)
def update_topic(
    slug: SlugPath, data: TopicUpdate, session: SessionDep, reextraction: ReextractAfterWriteDep
) -> TopicWritten:
    """Change a topic; the stored articles the change can affect are re-extracted in the
    background (see `create_topic`)."""
    written = registry.update_topic_with_reach(session, slug, data)
    started = reextraction.start(session, written.reach, reason=f"topic {slug} updated")
    session.expire_all()
    return TopicWritten(**dict(_topic(session, slug)), reextraction=started)
