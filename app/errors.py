"""One error hierarchy and one body shape for every 4xx/5xx:

{"error": {"code": "actor_not_found", "message": "...", "field": "actor", "details": [...]}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class StancelineError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class NotFound(StancelineError):
    status_code = 404
    code = "not_found"

    def __init__(self, resource: str, key: object, *, field: str | None = None) -> None:
        super().__init__(
            f"{resource} {key!r} does not exist", field=field or resource, code=f"{resource}_not_found"
        )


class UnknownReference(StancelineError):
    """A request names an actor, topic or article that does not exist (422, not 404: the URL is fine)."""

    status_code = 422

    def __init__(self, resource: str, key: object, *, field: str) -> None:
        super().__init__(f"unknown {resource} {key!r}", field=field, code=f"unknown_{resource}")


class InvalidInput(StancelineError):
    status_code = 422
    code = "invalid_input"


class Conflict(StancelineError):
    status_code = 409
    code = "conflict"


def _error_response(status: int, code: str, message: str, field: str | None, **extra: Any) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message, "field": field, **extra}}
    )


def field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """('body', 'articles', 0, 'text') -> 'articles[0].text'; the request part ('body', 'query') is dropped."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StancelineError)
    async def _stanceline_error(_request: Request, error: StancelineError) -> JSONResponse:
        return JSONResponse(status_code=error.status_code, content=error.body())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"field": field_path(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        return _error_response(
            422, "validation_error", f"{first['field']}: {first['message']}", first["field"], details=details
        )

    @app.exception_handler(IntegrityError)
    async def _integrity_error(_request: Request, error: IntegrityError) -> JSONResponse:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        logger.warning("db.integrity_error constraint=%s", constraint)
        return _error_response(
            409, "conflict", "the change conflicts with stored data", constraint, constraint=constraint
        )

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, error: DataError) -> JSONResponse:
        logger.warning("db.data_error %s", error.orig)
        return _error_response(422, "invalid_data", "the database refused a value in the request", None)

    @app.exception_handler(OperationalError)
    async def _operational_error(_request: Request, error: OperationalError) -> JSONResponse:
        logger.error("db.operational_error %s", error.orig)
        return _error_response(
            503, "database_unavailable", "the database could not complete the request", None
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error_response(error.status_code, code, str(error.detail), None)

    @app.exception_handler(Exception)
    async def _unexpected_error(_request: Request, error: Exception) -> JSONResponse:
        logger.exception("request.unhandled_error")
        return _error_response(500, "internal_error", "unexpected server error", None)
