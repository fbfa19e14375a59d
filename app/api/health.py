from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.db import DatabaseUnavailable, InlineReaderDep, read_inline
from app.ops import migrate
from app.schemas import ExtractionQueue, Health
from app.store import extraction_queue as queue_store

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def get_health() -> Health:
    """The process is up (no dependency checked; answered on the event loop, no thread needed)."""
    return Health(status="ok")


def _database_state(
    session: Session,
) -> tuple[str, str | None, str | None, queue_store.QueueState | None]:
    """The dialect, the schema's revision, the latest one (read from the migration files) and,
    when the schema is at it, the extraction queue's state: one unit of work on the inline thread."""
    connection = session.connection()
    connection.execute(text("SELECT 1"))
    revision, head = migrate.current_revision(connection), migrate.head_revision()
    queue = queue_store.queue_state(session) if revision == head else None
    return connection.dialect.name, revision, head, queue


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def get_readiness(request: Request, reader: InlineReaderDep) -> JSONResponse:
    """The database answers, within STANCELINE_DB_CONNECT_TIMEOUT_SECONDS, and its schema is at
    the latest migration. `extraction` says how many articles wait for extraction and for how long
    (a backlog is still ready: ingest goes on storing)."""
    try:
        dialect, revision, head, queue = await read_inline(request, reader, _database_state)
    except (SQLAlchemyError, DatabaseUnavailable):
        return JSONResponse(status_code=503, content={"status": "unavailable", "database": "unreachable"})
    if revision != head or queue is None:
        content = {"status": "unavailable", "database": "migrations pending", "revision": revision}
        return JSONResponse(status_code=503, content=content)
    pool = getattr(request.app.state, "extraction_pool", None)
    detail = ExtractionQueue(
        pending=queue.pending,
        failed=queue.failed,
        lag_seconds=round(queue.lag_seconds(), 3),
        local_workers=len(pool.pids()) if pool is not None else None,
    )
    ready = Health(status="ok", database=dialect, revision=revision, extraction=detail)
    return JSONResponse(content=ready.model_dump(mode="json", exclude_none=True))
