"""A request body must arrive within STANCELINE_BODY_TIMEOUT_SECONDS of its headers: a slow
(or stalled) upload gets 408 with the error body and its connection is closed, key or no key."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
from starlette.types import Message, Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from app.ops.limits import BodySizeLimit
from tests.ops.live import served

TIMEOUT = 0.5  # seconds
SLACK = 2.0  # seconds a loaded test machine may add to a deadline


class Echo:
    """An app that records the bodies it is handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _drive(middleware: BodySizeLimit, messages: list[Message]) -> list[Message]:
    """Runs one POST through `middleware`: the client sends `messages`, then nothing more; returns
    what the middleware sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # a client that stopped sending
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/articles", "headers": []}
    asyncio.run(middleware(scope, receive, send))
    return sent


def test_a_body_that_stops_arriving_gets_408_and_never_reaches_the_app() -> None:
    app = Echo()
    started = time.monotonic()
    sent = _drive(
        BodySizeLimit(app, max_bytes=1000, timeout=TIMEOUT),
        [{"type": "http.request", "body": b'{"ti', "more_body": True}],
    )
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + SLACK
    assert app.bodies == []
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert orjson.loads(sent[1]["body"]) == {
        "error": {
            "code": "request_timeout",
            "message": "the request body did not arrive within 0.5 s",
            "field": "body",
        }
    }


def test_a_body_that_arrives_in_time_reaches_the_app_whole() -> None:
    app = Echo()
    chunks: list[Message] = [
        {"type": "http.request", "body": b'{"a": ', "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
    ]
    sent = _drive(BodySizeLimit(app, max_bytes=1000, timeout=TIMEOUT), chunks)
    assert sent[0]["status"] == 200
    assert app.bodies == [b'{"a": 1}']


def _slow_upload(port: int) -> tuple[bytes, float, bool]:
    """Headers and a tenth of the declared body, then silence: the response, how long it took,
    and whether the server closed the connection after it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        started = time.monotonic()
        client.sendall(
            b"POST /v1/articles HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"title": '
        )
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
            chunk = client.recv(4096)
            if not chunk:
                break
            response += chunk
        elapsed = time.monotonic() - started
        closed = client.recv(4096) == b""
    return response, elapsed, closed


def test_slow_uploads_to_a_real_server_are_cut_off_at_the_deadline(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'slow.db'}", body_timeout_seconds=1)
    with served(create_app(settings)) as base, ThreadPoolExecutor(max_workers=20) as pool:
        port = int(base.rsplit(":", 1)[1])
        answers = list(pool.map(_slow_upload, [port] * 20))
    for response, elapsed, closed in answers:
        head, body = response.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 408 ")
        assert json.loads(body)["error"]["code"] == "request_timeout"
        assert 0.9 <= elapsed < 1 + SLACK  # the deadline ended it; the two clocks differ by a few ms
        assert closed
