"""The review queue: what to review next, the observations whose review teaches the model most first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.convert import review_queue_item
from app.api.deps import ReadScopeDep
from app.api.read_cache import CACHED_RESPONSES, cached_read, json_response
from app.db import InlineReaderDep
from app.pagination import CursorParam, decode_ranked_time_cursor, encode_cursor
from app.schemas import Page, ReviewQueueItem
from app.series import require_actor_ids, require_topic_ids
from app.store import review_queue as queue_store
from app.store.filters import ReviewQueueFilter

router = APIRouter(prefix="/review", tags=["review"])

MAX_QUEUE_PAGE = 100
QueueLimit = Annotated[int, Query(ge=1, le=MAX_QUEUE_PAGE, description="Page size (1-100)")]


@router.get("/queue", response_model=Page[ReviewQueueItem], responses={**CACHED_RESPONSES, 422: {}})
async def list_review_queue(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    filters: Annotated[ReviewQueueFilter, Query()],
    limit: QueueLimit = 20,
    cursor: CursorParam = None,
) -> Response:
    """Unreviewed automatic observations, the most uncertain first: `uncertainty` is
    `1 - |2 * confidence - 1|` (1 at a confidence of 0.5, 0 at 0 or 1), ties broken by the newest
    `observed_at`, then by the lower id. Review them with `PATCH /v1/stances/{id}`: a reviewed
    observation leaves the queue, and a page's `next_cursor` still leads on to the rest.

    An unknown actor or topic slug is a 422 naming `actor` or `topic`, as everywhere else. Cached
    as `list_observations` (ETag, 304 while current).
    """
    return await cached_read(
        request, reader, read_scope, lambda s: json_response(_queue_page(s, filters, limit, cursor))
    )


def _queue_page(
    session: Session, filters: ReviewQueueFilter, limit: int, cursor: str | None
) -> Page[ReviewQueueItem]:
    topic_ids = list(require_topic_ids(session, filters.topic).values()) if filters.topic else []
    actor_ids = list(require_actor_ids(session, filters.actor).values()) if filters.actor else []
    after = decode_ranked_time_cursor(cursor) if cursor is not None else None
    rows = queue_store.list_review_queue(
        session, topic_ids=topic_ids, actor_ids=actor_ids, after=after, limit=limit + 1
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last, uncertainty = page[-1]
        # the exact uncertainty SQL computed, not the rounded one shown: the next page starts past it
        next_cursor = encode_cursor(uncertainty, last.observed_at.isoformat(), last.id)
    return Page[ReviewQueueItem](
        items=[review_queue_item(o, uncertainty) for o, uncertainty in page], next_cursor=next_cursor
    )
