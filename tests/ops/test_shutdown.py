"""Graceful shutdown: on SIGTERM `stanceline serve` finishes the request in flight, then exits 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app import auth
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.models import Article
from app.ops import migrate
from app.registry import edits as registry
from tests.factories import article_payload

ROOT = Path(__file__).resolve().parents[2]
BATCH = 150  # long enough (about a second of extraction) to be mid-way when the signal lands
# the signal goes when extraction starts: extraction comes before the (fast) write transaction
WAIT = 90.0  # seconds; a ceiling for a stuck server, not a speed check


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare(url: str) -> str:
    """A migrated SQLite file with the starter registry; returns a write key."""
    migrate.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
            _, key = auth.create_key(session, name="shutdown-test", scopes=["write"])
    finally:
        engine.dispose()
    return key


def _wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited early with {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    pytest.fail("the server did not come up")


def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shutdown.db'}"
    key = _prepare(url)
    port = _free_port()
    env = {**os.environ, "STANCELINE_LOG_FORMAT": "json", "STANCELINE_LOG_LEVEL": "INFO"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--database-url", url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ingesting = threading.Event()

    def read_logs() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            lines.append(line)
            if '"event":"ingest.extracting"' in line:
                ingesting.set()

    reader = threading.Thread(target=read_logs, daemon=True)
    reader.start()
    outcome: dict[str, Any] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, server)
        articles = [article_payload() for _ in range(BATCH)]

        def post_batch() -> None:
            try:
                outcome["response"] = httpx.post(
                    f"{base}/v1/articles/batch",
                    json={"articles": articles},
                    headers={"Authorization": f"Bearer {key}", "X-Request-ID": "in-flight-1"},
                    timeout=WAIT,
                )
            except httpx.HTTPError as error:
                outcome["error"] = error

        poster = threading.Thread(target=post_batch)
        poster.start()
        assert ingesting.wait(WAIT), "the batch never started"
        server.send_signal(signal.SIGTERM)
        poster.join(WAIT)
        exit_code = server.wait(WAIT)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    reader.join(10)

    assert "error" not in outcome, outcome.get("error")
    response = outcome["response"]
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["created"] * BATCH
    assert exit_code == 0

    records = [json.loads(line) for line in lines if line.startswith("{")]
    messages = [r["message"] for r in records]
    # the signal arrived while the batch was running: uvicorn waited for it
    assert any(m.startswith("Waiting for connections to close") for m in messages)
    shutting_down = messages.index("Shutting down")
    (access,) = [
        i
        for i, r in enumerate(records)
        if r.get("request_id") == "in-flight-1" and r["logger"] == "app.access"
    ]
    assert access > shutting_down
    assert records[access]["status"] == 200
    assert messages[-1].startswith("Finished server process")
    assert key not in "".join(lines)

    engine = make_engine(Settings(database_url=url))
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(Article)).scalar_one()
    finally:
        engine.dispose()
    assert stored == BATCH
