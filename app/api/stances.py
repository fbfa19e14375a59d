from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from app import review
from app.api.convert import observation_read
from app.api.deps import ReadScopeDep, SettingsDep, WriteAccess, or_not_found
from app.api.formats import TABULAR_RESPONSES, ExportFormatParam, tabular_response
from app.api.params import RowId
from app.api.read_cache import CACHED_RESPONSES, cached_read, json_response
from app.db import InlineReaderDep, SessionDep
from app.pagination import CursorParam, Limit, decode_time_cursor, encode_cursor
from app.schemas import ObservationCreate, ObservationRead, ObservationUpdate, Page
from app.series import require_actor_ids, require_topic_ids, require_window
from app.store import observations as observation_store
from app.store.filters import ObservationFilter

router = APIRouter(prefix="/stances", tags=["stances"])

COLUMNS = list(ObservationRead.model_fields)


@router.get(
    "",
    response_model=Page[ObservationRead],
    responses={**TABULAR_RESPONSES, **CACHED_RESPONSES, 422: {}},
)
async def list_observations(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    filters: Annotated[ObservationFilter, Query()],
    limit: Limit = 100,
    cursor: CursorParam = None,
    format: ExportFormatParam = "json",
) -> Response:
    """Observations in (observed_at, id) order. CSV and NDJSON carry the next cursor in `X-Next-Cursor`.

    An unknown actor or topic slug is a 422 naming `actor` or `topic`, as everywhere else.

    The ETag changes whenever the data does (a review included): send it back in `If-None-Match`
    to get a 304 while it is current.
    """
    return await cached_read(
        request, reader, read_scope, lambda s: _observation_page(s, filters, limit, cursor, format)
    )


def _observation_page(
    session: Session, filters: ObservationFilter, limit: int, cursor: str | None, format: str
) -> Response:
    if filters.actor:
        require_actor_ids(session, filters.actor)
    if filters.topic:
        require_topic_ids(session, filters.topic)
    require_window(filters.observed_from, filters.observed_to)
    after = decode_time_cursor(cursor) if cursor is not None else None
    rows = observation_store.list_observations(session, filters=filters, after=after, limit=limit + 1)
    items = [observation_read(o) for o in rows[:limit]]
    next_cursor = (
        encode_cursor(items[-1].observed_at.isoformat(), items[-1].id) if len(rows) > limit else None
    )
    if format == "json":
        return json_response(Page[ObservationRead](items=items, next_cursor=next_cursor))
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    return tabular_response(format, [item.model_dump() for item in items], COLUMNS, "stances", headers)


@router.post(
    "",
    dependencies=[WriteAccess],
    response_model=ObservationRead,
    status_code=status.HTTP_201_CREATED,
    responses={422: {}},
)
def create_observation(
    data: ObservationCreate, session: SessionDep, settings: SettingsDep
) -> ObservationRead:
    """Code a stance by hand (method `manual`, status `verified`); it survives article revisions."""
    observation = review.add_manual_observation(session, data)
    return observation_read(observation)


@router.get("/{observation_id}", response_model=ObservationRead, responses={**CACHED_RESPONSES, 404: {}})
async def get_observation(
    observation_id: RowId, request: Request, reader: InlineReaderDep, read_scope: ReadScopeDep
) -> Response:
    """One observation (cached as `list_observations`)."""
    return await cached_read(
        request, reader, read_scope, lambda s: json_response(_observation(s, observation_id))
    )


def _observation(session: Session, observation_id: int) -> ObservationRead:
    observation = observation_store.get_observation(session, observation_id=observation_id)
    return observation_read(or_not_found(observation, "observation", observation_id))


@router.patch(
    "/{observation_id}",
    dependencies=[WriteAccess],
    response_model=ObservationRead,
    responses={404: {}, 409: {"description": "`expected_updated_at` names a version that is gone"}, 422: {}},
)
def review_observation(
    observation_id: RowId, data: ObservationUpdate, session: SessionDep, settings: SettingsDep
) -> ObservationRead:
    """Verify, correct (score/label) or reject. Rejected observations drop out of timelines."""
    observation = review.review_observation(session, observation_id, data)
    return observation_read(observation)
