from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.deps import ReadScopeDep
from app.api.formats import TABULAR_RESPONSES, FormatParam, tabular_response
from app.api.read_cache import CACHED_RESPONSES, cached_read, json_response
from app.db import InlineReaderDep
from app.schemas import ShiftBasis, ShiftList, ShiftRead, Slug, UTCDateTimeIn
from app.series import require_actor_ids, require_topic, require_window
from app.shifts import refresh as shifts
from app.store import shifts as shift_store

router = APIRouter(prefix="/shifts", tags=["timelines"])

FLAT_COLUMNS = [
    "id", "time", "title", "text", "topic", "actor", "at", "window_start", "window_end", "before", "after",
    "delta", "direction", "confidence", "basis", "grade", "status", "first_detected_at", "updated_at",
]  # fmt: skip


@router.get("", response_model=ShiftList, responses={**TABULAR_RESPONSES, **CACHED_RESPONSES, 422: {}})
async def list_shifts(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    topic: Annotated[Slug | None, Query(description="Topic slug")] = None,
    actor: Annotated[list[Slug], Query(description="Actor slug; repeat for several")] = [],  # noqa: B006
    at_from: Annotated[UTCDateTimeIn | None, Query(alias="from", description="Shift date >= this")] = None,
    at_to: Annotated[UTCDateTimeIn | None, Query(alias="to", description="Shift date < this")] = None,
    min_delta: Annotated[float, Query(ge=0, le=2, description="Smallest |after - before|")] = 0.0,
    min_confidence: Annotated[float, Query(ge=0, le=1, description="Smallest confidence")] = 0.0,
    basis: Annotated[
        list[ShiftBasis],
        Query(description="Only shifts with this basis among theirs (any grade); repeat for several"),
    ] = [],  # noqa: B006
    since: Annotated[
        UTCDateTimeIn | None, Query(description="Only shifts detected or moved at or after this time")
    ] = None,
    include_withdrawn: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: FormatParam = "json",
) -> Response:
    """Detected changes in actors' (roll-up) levels, strongest first, with the observations on both sides.

    Every item also carries `time`, `title` and `text`, so the list serves as Grafana annotations.

    The ETag changes whenever the data does (the shift detection's own writes included): send it
    back in `If-None-Match` to get a 304 while it is current.
    """
    return await cached_read(
        request,
        reader,
        read_scope,
        lambda s: _shift_list(
            s,
            topic=topic,
            actor=actor,
            at_from=at_from,
            at_to=at_to,
            min_delta=min_delta,
            min_confidence=min_confidence,
            basis=basis,
            since=since,
            include_withdrawn=include_withdrawn,
            limit=limit,
            format=format,
        ),
    )


def _shift_list(
    session: Session,
    *,
    topic: str | None,
    actor: list[str],
    at_from: datetime | None,
    at_to: datetime | None,
    min_delta: float,
    min_confidence: float,
    basis: list[ShiftBasis],
    since: datetime | None,
    include_withdrawn: bool,
    limit: int,
    format: str,
) -> Response:
    require_window(at_from, at_to)
    topic_id = require_topic(session, topic).id if topic is not None else None
    actor_ids = list(require_actor_ids(session, actor).values()) if actor else None
    rows = shift_store.list_shifts(
        session,
        topic_id=topic_id,
        actor_ids=actor_ids,
        at_from=at_from,
        at_to=at_to,
        min_delta=min_delta,
        updated_since=since,
        include_withdrawn=include_withdrawn,
        limit=limit,
        basis=basis,
        min_confidence=min_confidence,
    )
    items = [ShiftRead.model_validate(annotated(doc)) for doc in shifts.shift_documents(session, rows)]
    if format == "json":
        return json_response(ShiftList(items=items))
    flat = [
        {k: "+".join(v) if k == "basis" else v for k, v in item.model_dump().items() if k in FLAT_COLUMNS}
        for item in items
    ]
    return tabular_response(format, flat, FLAT_COLUMNS, "shifts")


def annotated(document: dict[str, Any]) -> dict[str, Any]:
    """Add the Grafana annotation fields: time, title, text."""
    arrow = "toward support" if document["direction"] == "toward_support" else "toward oppose"
    cue = next((e for e in document["cues"] + document["evidence_after"] if e.get("evidence")), None)
    return {
        **document,
        "time": document["at"],
        "title": (
            f"{document['actor_name']}: {arrow} ({document['before']:+.2f} -> {document['after']:+.2f})"
            f" [{document['grade'].replace('_', ' ')}]"
        ),
        "text": (cue or {}).get("evidence") or "",
    }
