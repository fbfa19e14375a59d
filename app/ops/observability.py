"""Structured logs and the request context.

`configure_logging(level, json=True)` sends every record to stderr as one JSON object per line
(`time, level, logger, event, message`, the `request_id` of the request being served, and
`method, route, status, duration_ms` on access records); `json=False` gives the same fields as
plain text. `RequestContextMiddleware` gives every request an id (the caller's `X-Request-ID`
when it is short and plain, a new one otherwise), returns it in the response header, writes one
access record per request and counts the request in the Prometheus metrics.

Nothing here logs headers or query strings, and every message passes through `redact`, so an API
key that reaches a log line by some other path (a library's message, an exception) is masked.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ops import metrics

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "app.access"
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")
# probes and scrapes arrive every few seconds; their access records are DEBUG, not INFO
QUIET_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SECRETS = (
    # Authorization: Bearer <key>, X-API-Key: <key>, ?key= / api_key= / apikey= in a logged URL
    re.compile(r"(?i)(bearer\s+|x-api-key['\"]?\s*[:=,]\s*['\"]?|\b(?:api[_-]?)?key=)[^\s'\"&;,)]+"),
    # the keys app.auth issues, wherever they appear
    re.compile(r"\bsl_[A-Za-z0-9_-]{16,}"),
)
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")  # "ingest.stored", "http.request"
_HANDLER_MARK = "_stanceline_handler"
_access_log = logging.getLogger(ACCESS_LOGGER)


def current_request_id() -> str | None:
    return _request_id.get()


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class _RequestIdFilter(logging.Filter):
    """Stamps the current request id on each record, in the thread that logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        event = message.split(" ", 1)[0]
        if _EVENT_NAME.fullmatch(event):
            entry["event"] = event
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        for field in ACCESS_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        context = f" [{request_id}]" if request_id else ""
        line = f"{_timestamp(record)} {record.levelname} {record.name}{context} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when a record arrives (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str, json: bool = True) -> None:
    """One stderr handler on the root logger (replacing ours from an earlier call); uvicorn's
    loggers are routed through it, and uvicorn's access log, which prints raw query strings, is
    turned off in favour of ours."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.fullmatch(candidate) else None
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's full template (`/v1/articles/{article_id}`), never the raw path.

    Built with the app's own `url_path_for` from the route's name and its parameters' names,
    so the router prefixes are included however FastAPI nests included routers.
    """
    route = scope.get("route")
    if route is None:
        return metrics.UNMATCHED_ROUTE
    key = (id(route), tuple(sorted(scope.get("path_params", {}))))
    known = _templates.get(key)
    if known is None or known[0] is not route:  # routes are unhashable; an id may be reused
        known = _templates[key] = (route, _template_of(scope, route))
    return known[1]


# (id of the route, its parameters' names) -> (route, template): routes are fixed once the app
# runs, so this stays as small as the app's route table
_templates: dict[tuple[int, tuple[str, ...]], tuple[object, str]] = {}


def _template_of(scope: Scope, route: object) -> str:
    name = getattr(route, "name", None)
    app = scope.get("app")
    if isinstance(name, str) and app is not None:
        placeholders = {key: "{" + key + "}" for key in scope.get("path_params", {})}
        try:
            return str(app.url_path_for(name, **placeholders))
        except Exception:  # a convertor that refuses a placeholder, a renamed route: use its own path
            pass
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else metrics.UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Request id in, request id out, one access record and one metrics sample per request.

    A plain ASGI middleware (no BaseHTTPMiddleware): it leaves streaming responses alone and
    the request id it sets stays visible to the handler's thread.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = _request_id.set(request_id)
        status = 500  # what the server answers when the app raises before starting a response
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            failed = True
            raise
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            duration_ms = round(seconds * 1000, 1)
            _access_log.log(
                logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                "http.request method=%s route=%s status=%d duration_ms=%.1f",
                method,
                route,
                status,
                duration_ms,
                extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
            )
            # on failure the id stays set: the server's error handler logs the exception after this
            # returns, in the same task (each request runs in its own task, so nothing leaks)
            if not failed:
                _request_id.reset(token)
