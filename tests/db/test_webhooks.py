"""Webhook delivery against a real receiver on 127.0.0.1: signature, retries, giving up."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import make_sessionmaker, session_scope
from app.main import create_app
from app.models import WebhookDelivery, utcnow
from app.ops import migrate
from app.registry.edits import STARTER_REGISTRY
from app.shifts import webhooks
from app.store import shift_queue
from app.store import webhooks as webhook_store
from tests.conftest import ENGINES, create_database
from tests.factories import admin_headers

SECRET = "s3cret"


class Receiver:
    """Answers with the queued status codes (then 200) and records what it received."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append({"headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    factory = make_sessionmaker(engine)
    yield factory
    with session_scope(factory) as session:
        session.query(WebhookDelivery).delete()


def _queue(factory: sessionmaker[Session], url: str) -> None:
    with session_scope(factory) as session:
        webhook_store.add_deliveries(
            session, urls=[url], event="shift.detected", payload={"shift": {"id": 7}}
        )


def _make_due(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def _deliveries(factory: sessionmaker[Session]) -> list[WebhookDelivery]:
    with session_scope(factory, write=False) as session:
        return webhook_store.list_deliveries(session)


def test_signed_delivery_after_a_failed_attempt(factory: sessionmaker[Session]) -> None:
    receiver = Receiver([500])
    try:
        _queue(factory, receiver.url)
        assert webhooks.deliver_due(factory, secret=SECRET, max_attempts=5, timeout=5) == 0
        [pending] = _deliveries(factory)
        assert (pending.attempts, pending.delivered_at, pending.last_error) == (1, None, "HTTP 500")
        assert pending.next_attempt_at > utcnow(), "a failed delivery backs off"
        assert webhooks.deliver_due(factory, secret=SECRET, max_attempts=5, timeout=5) == 0, "not due yet"

        _make_due(factory)
        assert webhooks.deliver_due(factory, secret=SECRET, max_attempts=5, timeout=5) == 1
        [done] = _deliveries(factory)
        assert done.delivered_at is not None
        assert done.attempts == 2
    finally:
        receiver.close()

    last = receiver.received[-1]
    headers = {k.lower(): v for k, v in last["headers"].items()}
    assert orjson.loads(last["body"]) == {"shift": {"id": 7}}
    assert headers["x-stanceline-event"] == "shift.detected"
    assert headers["x-stanceline-delivery"] == str(done.id)
    signed = headers["x-stanceline-timestamp"].encode() + b"." + last["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["x-stanceline-signature"] == expected


def test_gives_up_after_max_attempts_and_survives_a_dead_receiver(factory: sessionmaker[Session]) -> None:
    _queue(factory, "http://127.0.0.1:9/unreachable")
    for _ in range(3):
        _make_due(factory)
        webhooks.deliver_due(factory, secret=None, max_attempts=3, timeout=1)
    [failed] = _deliveries(factory)
    assert failed.attempts == 3
    assert failed.failed_at is not None
    assert failed.delivered_at is None
    assert "ConnectError" in (failed.last_error or "")
    _make_due(factory)
    assert webhooks.deliver_due(factory, secret=None, max_attempts=3, timeout=1) == 0
    assert _deliveries(factory)[0].attempts == 3, "a failed delivery is not retried again"


@pytest.fixture(params=ENGINES)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = create_database(request.param, tmp_path)
    migrate.upgrade(url)
    yield url
    drop()


def test_a_detected_shift_reaches_the_receiver_signed(fresh_url: str) -> None:
    receiver = Receiver([503])  # the first attempt fails: the dispatcher must retry
    settings = Settings(
        database_url=fresh_url,
        webhook_urls=[receiver.url],
        webhook_secret=SecretStr(SECRET),
        worker_poll_seconds=0.05,
    )
    try:
        with TestClient(create_app(settings), headers=admin_headers(fresh_url)) as client:
            client.post("/v1/registry", json=orjson.loads(STARTER_REGISTRY.read_bytes()))
            start = date(2025, 1, 6)
            for i in range(20):
                body = {
                    "actor": "italy",
                    "topic": "ground-troops-ukraine",
                    "score": 1.0 if i < 10 else -1.0,
                    "observed_at": (start + timedelta(days=4 * i)).isoformat(),
                }
                assert client.post("/v1/stances", json=body).status_code == 201
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _attempts(receiver, "italy", "shift.detected")[-1:] != [
                200
            ]:
                time.sleep(0.05)
                with session_scope(client.app.state.sessionmaker) as session:  # type: ignore[attr-defined]
                    session.execute(
                        update(WebhookDelivery)
                        .where(WebhookDelivery.delivered_at.is_(None))
                        .values(next_attempt_at=utcnow())
                    )
    finally:
        receiver.close()
    assert _attempts(receiver, "italy", "shift.detected") == [503, 200], "one event, retried once"
    delivered = next(
        r for r in receiver.received if r["status"] == 200 and _event(r) == ("italy", "shift.detected")
    )
    payload = orjson.loads(delivered["body"])
    assert payload["shift"]["direction"] == "toward_oppose"
    assert payload["shift"]["evidence_after"]
    headers = {k.lower(): v for k, v in delivered["headers"].items()}
    signed = headers["x-stanceline-timestamp"].encode() + b"." + delivered["body"]
    assert (
        headers["x-stanceline-signature"]
        == "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    )


def _event(record: dict[str, Any]) -> tuple[str, str]:
    payload = orjson.loads(record["body"])
    return payload["shift"]["actor"], payload["event"]


def _attempts(receiver: Receiver, actor: str, event: str) -> list[int]:
    """Statuses answered to the first delivery of `event` for `actor`, in order."""
    matching = [r for r in receiver.received if _event(r) == (actor, event)]
    if not matching:
        return []
    delivery = {k.lower(): v for k, v in matching[0]["headers"].items()}["x-stanceline-delivery"]
    return [
        r["status"]
        for r in matching
        if {k.lower(): v for k, v in r["headers"].items()}["x-stanceline-delivery"] == delivery
    ]


def test_deferred_mode_records_shifts_in_the_background(fresh_url: str) -> None:
    settings = Settings(database_url=fresh_url, worker_poll_seconds=0.05)
    assert settings.shift_detection == "deferred"
    with TestClient(create_app(settings), headers=admin_headers(fresh_url)) as client:
        client.post("/v1/registry", json=orjson.loads(STARTER_REGISTRY.read_bytes()))
        start = date(2025, 1, 6)
        for i in range(20):
            body = {
                "actor": "poland",
                "topic": "ground-troops-ukraine",
                "score": -1.0 if i < 10 else 1.0,
                "observed_at": (start + timedelta(days=4 * i)).isoformat(),
            }
            assert client.post("/v1/stances", json=body).status_code == 201
        deadline = time.monotonic() + 10
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not found:
            time.sleep(0.05)
            found = client.get("/v1/shifts", params={"actor": "poland"}).json()["items"]
        assert [s["direction"] for s in found] == ["toward_support"]
        factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
        while time.monotonic() < deadline and _queued(factory):
            time.sleep(0.05)
        assert _queued(factory) == 0, "the worker drains the queue"


def _queued(factory: sessionmaker[Session]) -> int:
    with session_scope(factory, write=False) as session:
        return shift_queue.count_queued(session)
