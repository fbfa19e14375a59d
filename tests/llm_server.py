"""A fake OpenAI-compatible chat completions server on 127.0.0.1 for the llm engine's tests.

Its answers are scripted: `script(Reply(...), ...)` queues them in order, and once they are used
up `default` answers (or `respond`, a function of the request, when set). A reply can be a
well-formed completion of any content, a raw body, an HTTP status, a delay before the headers or
a slow drip of the body. Every request is logged (its JSON body and headers), and the most
requests in flight at once is kept.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


def completion(content: str) -> bytes:
    """An OpenAI chat completion body whose first choice says `content`."""
    return orjson.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
        }
    )


def observations(*items: Any) -> str:
    """The content of an answer listing `items`."""
    return orjson.dumps({"observations": list(items)}).decode()


@dataclass
class Reply:
    content: str | None = None  # the message content of a well-formed completion
    body: bytes | None = None  # or a raw body
    status: int = 200
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between the body's bytes

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        return completion(self.content if self.content is not None else observations())


@dataclass
class Seen:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def prompt(self) -> str:
        return "\n".join(m["content"] for m in self.body["messages"])


@dataclass
class FakeLLM:
    default: Reply = field(default_factory=Reply)
    respond: Callable[[Seen], Reply] | None = None
    requests: list[Seen] = field(default_factory=list)
    most_in_flight: int = 0
    _queue: list[Reply] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
            if self._queue:
                return self._queue.pop(0)
        return self.respond(seen) if self.respond is not None else self.default

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def start(self) -> FakeLLM:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up
                    super().handle()

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = Seen(orjson.loads(raw), {k.lower(): v for k, v in self.headers.items()})
                reply = owner._next(seen)
                try:
                    if reply.delay and owner._stop.wait(reply.delay):
                        return
                    payload = reply.payload() if reply.status == 200 else b'{"error": "scripted"}'
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if not reply.drip:
                        self.wfile.write(payload)
                        return
                    for byte in payload:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        if owner._stop.wait(reply.drip):
                            return
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: its timeout
                    pass
                finally:
                    owner._done()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-llm", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Until no request is being answered (a timed-out one may still be sleeping)."""
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
