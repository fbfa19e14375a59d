"""Fixtures: an engine per database kind (built by the migrations), a session inside a rolled-back
outer transaction, and an API client whose requests commit into that transaction's savepoints."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app import auth
from app.api.deps import get_read_scope
from app.config import Settings
from app.db import InlineReader, get_inline_reader, get_session, make_engine
from app.main import create_app
from app.ops import migrate
from app.registry import edits as registry
from tests import reports

# Most tests read an article's observations in the answer to its POST, which is what `?wait=true`
# gives and what STANCELINE_INGEST_WAIT=true makes the default (for this process and the servers
# and CLI runs it starts). The extraction queue's tests (tests/jobs/test_extraction_queue.py) and
# the README's quick start (tests/test_quickstart.py) run with the shipped default, false.
os.environ.setdefault("STANCELINE_INGEST_WAIT", "true")

POSTGRES_URL = os.environ.get(
    "STANCELINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ENGINES = ["sqlite", "postgresql"]
_postgres_problem: str | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    if not reports.under_xdist_worker(session.config):
        reports.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not reports.under_xdist_worker(config):
        reports.print_published(terminalreporter)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        default=False,
        help="fuzz with thousands of requests instead of hundreds",
    )


def _admin_conninfo() -> str:
    url = make_url(POSTGRES_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _address() -> str:
    url = make_url(POSTGRES_URL)
    return f"{url.host}:{url.port or 5432}"


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can (checked once)."""
    global _postgres_problem
    if _postgres_problem is None:
        try:
            with psycopg.connect(_admin_conninfo(), connect_timeout=3):
                _postgres_problem = ""
        except psycopg.Error as error:
            _postgres_problem = f"PostgreSQL not reachable at {_address()} ({error})".strip()
    return _postgres_problem or None


def create_database(kind: str, tmp_dir: Path) -> tuple[str, Callable[[], None]]:
    """A brand-new empty database of `kind`; returns its URL and a function that drops it."""
    if kind == "sqlite":
        path = tmp_dir / f"stanceline-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: None
    problem = postgres_unreachable()
    if problem:
        print(f"\nSKIP reason: {problem}")
        pytest.skip(problem)
    name = f"stanceline_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, drop = create_database(request.param, tmp_path_factory.mktemp("db"))
    migrate.upgrade(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # the test client's requests share one rolled-back transaction a background worker cannot see
    return Settings(database_url=database_url, migrate_on_start=False, shift_detection="sync")


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine, settings: Settings) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info={"settings": settings},  # what the units of work write with (shift detection: sync)
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def share_session(app: FastAPI, session: Session) -> None:
    """Every unit of work of `app`'s requests runs in `session`: the test's transaction, rolled
    back afterwards (commits are savepoints)."""

    session.info["settings"] = app.state.settings  # the app's own (shift detection, webhooks)

    def test_session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def test_reader() -> InlineReader:
        return lambda: nullcontext(session)

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[get_inline_reader] = test_reader
    app.dependency_overrides[get_read_scope] = test_reader


@pytest.fixture
def app(settings: Settings, session: Session) -> FastAPI:
    app = create_app(settings)
    share_session(app, session)
    return app


@pytest.fixture
def admin_key(session: Session) -> str:
    """A plain admin API key stored in the test's transaction."""
    _, plain = auth.create_key(session, name="tests", scopes=["admin"])
    session.commit()
    return plain


@pytest.fixture
def client(app: FastAPI, admin_key: str) -> Iterator[TestClient]:
    """The API as an administrator (every request carries the admin key)."""
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.fixture
def anonymous_client(app: FastAPI) -> Iterator[TestClient]:
    """The API without any key."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def starter_registry(session: Session) -> None:
    registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
    session.commit()
