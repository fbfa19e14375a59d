from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import migrate
from app.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def get_health() -> Health:
    """The process is up (no dependency checked)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def get_readiness(request: Request) -> JSONResponse:
    """The database answers and its schema is at the latest migration."""
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            revision = migrate.current_revision(connection)
    except SQLAlchemyError:
        return JSONResponse(status_code=503, content={"status": "unavailable", "database": "unreachable"})
    head = migrate.head_revision()
    if revision != head:
        content = {"status": "unavailable", "database": "migrations pending", "revision": revision}
        return JSONResponse(status_code=503, content=content)
    return JSONResponse(content={"status": "ok", "database": engine.dialect.name, "revision": revision})
