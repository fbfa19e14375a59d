"""The body size limit on its own: a declared length, a streamed body, and a body at the limit."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from app.ops.limits import BodySizeLimit

LIMIT = 10


class EchoLength:
    """Answers with how many body bytes it read; counts the requests that reached it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


def _client(app: EchoLength) -> TestClient:
    return TestClient(BodySizeLimit(app, max_bytes=LIMIT))


def _chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


def test_a_body_at_the_limit_reaches_the_app_whole() -> None:
    app = EchoLength()
    assert _client(app).post("/", content=b"x" * LIMIT).text == str(LIMIT)
    assert _client(app).post("/", content=_chunks(b"abc", b"", b"defg", b"hij")).text == str(LIMIT)
    assert app.calls == 2


def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    app = EchoLength()
    response = _client(app).post("/", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "request_too_large",
            "message": f"the request body is larger than the limit of {LIMIT} bytes",
            "field": "body",
            "details": {"limit": LIMIT},
        }
    }
    assert app.calls == 0


def test_a_streamed_body_is_counted_as_it_arrives() -> None:
    app = EchoLength()
    response = _client(app).post("/", content=_chunks(b"x" * 6, b"y" * 6))
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit": LIMIT}
    assert app.calls == 0


def test_a_lying_content_length_does_not_get_a_longer_body_through() -> None:
    app = EchoLength()
    response = _client(app).post("/", content=_chunks(b"x" * 8, b"y" * 8), headers={"content-length": "5"})
    assert response.status_code == 413
    assert app.calls == 0


def test_requests_without_a_body_pass() -> None:
    app = EchoLength()
    assert _client(app).get("/").text == "0"
    assert app.calls == 1
