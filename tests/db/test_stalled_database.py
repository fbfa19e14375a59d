"""A PostgreSQL that stops answering (connection open, no bytes) costs each request at most the
configured timeout, never the whole process: /healthz answers at once, API requests and /readyz
get 503 within the timeout, and everything recovers when the database answers again.

The stall is a TCP proxy between the app and PostgreSQL that stops relaying while keeping every
socket open (a refused connection is the easy case: it fails at once); those tests are
PostgreSQL only. A pool with no connection to give is the same 503, on any engine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import auth
from app.config import Settings
from app.db import DatabaseUnavailable, make_engine, make_sessionmaker, session_scope
from app.main import create_app
from app.ops import migrate
from tests.conftest import create_database, postgres_unreachable
from tests.ops.live import served

TIMEOUT = 2  # seconds: STANCELINE_DB_CONNECT_TIMEOUT_SECONDS (libpq's floor) and the statement timeout
SLACK = 2.0  # seconds a loaded test machine may add to a deadline


class FreezableProxy:
    """Relays TCP connections to `target`; `freeze()` stops relaying bytes (in both directions,
    for open and new connections alike) without closing anything, `thaw()` resumes."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._relaying = threading.Event()
        self._relaying.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._relaying.clear()

    def thaw(self) -> None:
        self._relaying.set()

    def close(self) -> None:
        self._closed = True
        self._relaying.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target)
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while chunk := source.recv(65536):
                self._relaying.wait()  # frozen: the bytes are held, the sockets stay open
                sink.sendall(chunk)
        for sock in (source, sink):  # one side closed: close the other
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Stall:
    proxy: FreezableProxy
    settings: Settings  # the database through the proxy, with small timeouts
    key: str


@pytest.fixture
def stall(tmp_path: Path) -> Iterator[Stall]:
    problem = postgres_unreachable()
    if problem:
        print(f"\nSKIP reason: {problem}")
        pytest.skip(problem)
    url, drop = create_database("postgresql", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            _, key = auth.create_key(session, name="stall", scopes=["read"])
    finally:
        engine.dispose()
    address = make_url(url)
    proxy = FreezableProxy((address.host or "127.0.0.1", address.port or 5432))
    proxied = address.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = Settings(
        database_url=proxied,
        migrate_on_start=False,
        shift_detection="off",  # no background worker
        db_connect_timeout_seconds=TIMEOUT,
        db_statement_timeout_seconds=TIMEOUT,
    )
    try:
        yield Stall(proxy, settings, key)
    finally:
        proxy.close()
        drop()


def _timed_get(
    client: httpx.Client, path: str, key: str | None = None
) -> tuple[httpx.Response, float, float]:
    """The response, how long it took, and when it came (monotonic)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    started = time.monotonic()
    response = client.get(path, headers=headers)
    answered = time.monotonic()
    return response, answered - started, answered


def test_a_stalled_database_costs_requests_the_timeout_and_never_the_process(stall: Stall) -> None:
    with (
        served(create_app(stall.settings)) as base,
        httpx.Client(base_url=base, timeout=60) as client,
        ThreadPoolExecutor(max_workers=6) as pool,
    ):
        assert client.get("/v1/topics", headers={"Authorization": f"Bearer {stall.key}"}).status_code == 200
        stall.proxy.freeze()
        reads = [pool.submit(_timed_get, client, "/v1/topics", stall.key) for _ in range(5)]
        time.sleep(0.3)  # the reads are waiting for the database now
        health, health_seconds, health_answered = _timed_get(client, "/healthz")
        ready, ready_seconds, _ = _timed_get(client, "/readyz")
        answered = [future.result() for future in reads]
        print(
            f"\nfrozen: /healthz {health_seconds:.3f} s, /readyz {ready_seconds:.2f} s, "
            f"API reads {', '.join(f'{s:.2f}' for _, s, _ in answered)} s (timeout {TIMEOUT} s)"
        )
        assert health.status_code == 200
        # at once: while every read still waited for the database (an order, not a time: a loaded
        # machine slows both alike; once it took 1.5 s), and well within the timeout they wait out
        assert health_answered < min(at for _, _, at in answered)
        assert health_seconds < TIMEOUT
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unreachable"}
        assert ready_seconds < TIMEOUT + SLACK
        for response, seconds, _ in answered:
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "database_unavailable"
            assert seconds < TIMEOUT + SLACK

        stall.proxy.thaw()
        thawed = time.monotonic()
        deadline = thawed + 3 * TIMEOUT + SLACK
        while _timed_get(client, "/v1/topics", stall.key)[0].status_code != 200:
            assert time.monotonic() < deadline, "no recovery after the database answered again"
            time.sleep(0.1)
        print(f"recovered {time.monotonic() - thawed:.2f} s after the thaw")
        assert client.get("/readyz").status_code == 200


def test_a_connection_that_stops_answering_is_closed_and_replaced(stall: Stall) -> None:
    """A statement on a frozen connection fails after the statement plus connect timeouts (where
    psycopg alone would wait forever), and the pool then hands out a working connection."""
    engine = make_engine(stall.settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            stall.proxy.freeze()
            started = time.monotonic()
            with pytest.raises(OperationalError, match="did not answer"):
                connection.execute(text("SELECT 1"))
            waited = time.monotonic() - started
            assert connection.invalidated
        print(f"\nfrozen statement given up after {waited:.2f} s")
        assert 2 * TIMEOUT - 0.5 < waited < 2 * TIMEOUT + SLACK
        stall.proxy.thaw()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_the_server_cancels_a_statement_past_the_timeout_and_url_options_are_kept(tmp_path: Path) -> None:
    problem = postgres_unreachable()
    if problem:
        print(f"\nSKIP reason: {problem}")
        pytest.skip(problem)
    url, drop = create_database("postgresql", tmp_path)
    with_options = make_url(url).update_query_dict({"options": "-c lock_timeout=1234"})
    settings = Settings(
        database_url=with_options.render_as_string(hide_password=False), db_statement_timeout_seconds=0.5
    )
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "500ms"
            assert connection.execute(text("SHOW lock_timeout")).scalar() == "1234ms"
            with pytest.raises(OperationalError, match="statement timeout"):
                connection.execute(text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()
        drop()


def test_a_unit_of_work_that_gets_no_connection_in_time_is_database_unavailable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.2)
    factory = make_sessionmaker(engine)

    def read() -> None:
        with session_scope(factory, write=False) as session:
            session.execute(text("SELECT 1"))

    try:
        with engine.connect(), pytest.raises(DatabaseUnavailable) as refused:  # the pool's only connection
            read()
        assert refused.value.status_code == 503
        assert refused.value.body()["error"]["code"] == "database_unavailable"
        read()  # given back: it works again
    finally:
        engine.dispose()
