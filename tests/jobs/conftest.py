from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app.cli.main import DEMO_CORPUS
from app.db import session_scope
from app.registry import context as registry_context
from tests import factories
from tests.conftest import ENGINES, create_database
from tests.factories import Database, registry_database


@pytest.fixture(scope="module", params=ENGINES)
def jobs_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A database of its own with the starter registry and the 22 demo articles (jobs commit)."""
    with registry_database(
        request.param, tmp_path_factory.mktemp("jobs"), job_chunk_size=5, job_max_retries=2
    ) as database:
        articles = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]
        with session_scope(database.factory) as session:
            context = registry_context.load_registry_context(session)
            factories.ingest_batch(session, articles, context=context, engine="rules")
        yield database


REDIS_URL = os.environ.get("STANCELINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_problem() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis not reachable at {REDIS_URL} ({error})"
    return None


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database for the Celery tests, which also need Redis: skipped, saying
    why, when Redis cannot be reached."""
    problem = _redis_problem()
    if problem:
        print(f"\nSKIP reason: {problem}")
        pytest.skip(problem)
    url, drop = create_database("postgresql", tmp_path)
    yield url
    drop()
