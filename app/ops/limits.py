"""Request body limits, enforced before the application reads a byte of the body: its size, and
the time it may take to arrive."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge, StancelineError
from app.schemas import ErrorBody

# any request can carry a body, so any route can answer these
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    408: {"model": ErrorBody, "description": "The body took longer than STANCELINE_BODY_TIMEOUT_SECONDS"},
    413: {"model": ErrorBody, "description": "The request body is over STANCELINE_MAX_BODY_BYTES"},
}


class BodyTimeout(StancelineError):
    status_code = 408
    code = "request_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the request body did not arrive within {seconds:g} s", field="body")


class BodySizeLimit:
    """Answer 413 when a request body is larger than `max_bytes`, 408 when it has not arrived
    whole `timeout` seconds after the request's headers did.

    A declared Content-Length over the limit is refused before anything is read. Otherwise the
    body is read here, counting bytes as they arrive (a chunked upload declares no length, and
    an in-process client need not keep to the one it declares), and handed on whole. FastAPI
    reads the whole body before validating it anyway, so buffering here costs no extra memory.
    The deadline covers the whole body, so a client trickling bytes cannot hold a connection
    open (and its buffer) for longer, whether or not it has an API key.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_bytes:
            await self._refuse(send, PayloadTooLarge(self.max_bytes))
            return
        try:
            async with asyncio.timeout(self.timeout):
                read = await self._read(receive)
        except TimeoutError:
            await self._refuse(send, BodyTimeout(self.timeout))
            return
        if read is None:
            await self._refuse(send, PayloadTooLarge(self.max_bytes))
            return
        chunks, ended = read
        # `ended`: the client went away before sending the whole body; the app sees it
        await self.app(scope, _replay(chunks, ended, receive), send)

    async def _read(self, receive: Receive) -> tuple[list[bytes], Message | None] | None:
        """The body's chunks and the message that cut it short, if any; None past `max_bytes`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return [], message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks, None

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                # a malformed length is left to the server and the app; it cannot pass the limit
                return int(value) if value.isdigit() else 0
        return 0

    @staticmethod
    async def _refuse(send: Send, error: StancelineError) -> None:
        body = orjson.dumps(error.body())
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body as one message, then defers to the real one."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            if pending is not None:
                return pending
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replayed
