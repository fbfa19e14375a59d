"""One error hierarchy and one body shape for every 4xx/5xx:

{"error": {"code": "actor_not_found", "message": "...", "field": "actor", "details": [...]}}
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.staticfiles import StaticFiles

from app.ops import observability
from app.schemas import ErrorBody

logger = logging.getLogger(__name__)


class StancelineError(Exception):
    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

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


class LimitExceeded(StancelineError):
    """A size limit was passed; the body names it in `details.limit`."""

    status_code = 422
    code = "limit_exceeded"

    def __init__(self, message: str, *, field: str, limit: int) -> None:
        super().__init__(message, field=field)
        self.limit = limit

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["details"] = {"limit": self.limit}
        return body


class PayloadTooLarge(LimitExceeded):
    status_code = 413
    code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the request body is larger than the limit of {limit} bytes", field="body", limit=limit
        )


class Conflict(StancelineError):
    status_code = 409
    code = "conflict"


class ExtractionUnavailable(StancelineError):
    """The extraction engine could not extract now (the llm engine's endpoint timed out, failed or
    answered nonsense past its retries)."""

    status_code = 503
    code = "extraction_unavailable"


class Unauthorized(StancelineError):
    status_code = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012 - read-only class constant

    def __init__(self, message: str) -> None:
        super().__init__(message, field="Authorization")


class Forbidden(StancelineError):
    status_code = 403
    code = "forbidden"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="Authorization")


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


def _validation_detail(error: Any) -> dict[str, Any]:
    """One failed check: the field, the message, and the size limit when a length check failed."""
    detail = {
        "field": field_path(error.get("loc", ())),
        "message": error.get("msg", ""),
        "type": error.get("type", ""),
    }
    if detail["type"] == "json_invalid":
        # FastAPI puts the character offset of a JSON syntax error in the location
        detail["field"] = "body"
    limit = (error.get("ctx") or {}).get("max_length")
    if limit is not None:
        detail["limit"] = limit
    return detail


def _unreadable_body(error: StarletteHTTPException) -> str | None:
    """Why FastAPI could not read a request body (its 400 raised from the parser's exception), or
    None for any other HTTP error."""
    cause = error.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return "JSON must be encoded as UTF-8"
    if error.status_code != 400 or cause is None:
        return None
    if isinstance(cause, RecursionError):
        return "JSON is nested too deeply"
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return "a JSON number has too many digits"
    return "the body cannot be read as JSON"


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path (one route per method, often: Starlette's
    405 names only the first route's methods, a mounted app's none)."""
    allowed = []
    for method in _METHODS:
        # a fresh scope per probe: matching may note things in the scope it is given
        probe = {
            "type": "http",
            "method": method,
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "headers": [],
        }
        for route in request.app.router.routes:
            match, _ = route.matches(probe)
            if match == Match.FULL and (method in ("GET", "HEAD") or not _is_static(route)):
                allowed.append(method)
                break
    return ", ".join(allowed)


def _is_static(route: Any) -> bool:
    """A mount of static files (which match every method, and answer GET and HEAD)."""
    return isinstance(getattr(route, "app", None), StaticFiles)


def document_error_body(app: FastAPI) -> None:
    """Give every 4xx/5xx in the OpenAPI document the one error body.

    FastAPI documents its own 422 shape (`{"detail": [...]}`), which this app never sends, and a
    `responses={404: {}}` declaration carries no schema; clients and the fuzzer read this instead.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(body.pop("$defs", {}))
        schemas["ErrorBody"] = body
        error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    schema = response.get("content", {}).get("application/json", {}).get("schema")
                    fastapi_422 = schema == {"$ref": "#/components/schemas/HTTPValidationError"}
                    if status[0] in "45" and (schema is None or fastapi_422):
                        response["content"] = error_content
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


# The 401/403 a request's key checks answer, or None when they pass (`app.api.deps.key_refusal`)
KeyRefusal = Callable[[Request], Awaitable[StancelineError | None]]


async def _no_refusal(_request: Request) -> StancelineError | None:
    return None


def _stanceline_response(error: StancelineError) -> JSONResponse:
    return JSONResponse(status_code=error.status_code, content=error.body(), headers=error.headers)


def install_error_handlers(app: FastAPI, *, key_refusal: KeyRefusal = _no_refusal) -> None:
    """One body for every error. `key_refusal` answers for the API key of a request whose body
    could not be parsed: FastAPI parses it before the key checks run, and the key comes first."""
    document_error_body(app)

    @app.exception_handler(StancelineError)
    async def _stanceline_error(_request: Request, error: StancelineError) -> JSONResponse:
        return _stanceline_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            refusal = await key_refusal(request)
            if refusal is not None:
                return _stanceline_response(refusal)
        details = [_validation_detail(e) for e in error.errors()]
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
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        unreadable = _unreadable_body(error)
        if unreadable is not None:
            # FastAPI's 400 for a body its JSON parser gave up on (not UTF-8, nested too deeply, an
            # integer past Python's digit limit): the same answer as any other malformed JSON
            refusal = await key_refusal(request)
            if refusal is not None:
                return _stanceline_response(refusal)
            message = f"body: {unreadable}"
            details = [{"field": "body", "message": unreadable, "type": "json_invalid"}]
            return _error_response(422, "validation_error", message, "body", details=details)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        response = _error_response(error.status_code, code, str(error.detail), None)
        response.headers.update(error.headers or {})
        if error.status_code == 405 and (allowed := _allowed_methods(request)):
            # Starlette names only the methods of the first route at the path, static files none
            response.headers["Allow"] = allowed
        return response

    @app.exception_handler(Exception)
    async def _unexpected_error(_request: Request, error: Exception) -> JSONResponse:
        logger.exception("request.unhandled_error")
        response = _error_response(500, "internal_error", "unexpected server error", None)
        # built outside the request-id middleware: name the request here so logs can be matched
        request_id = observability.current_request_id()
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response
