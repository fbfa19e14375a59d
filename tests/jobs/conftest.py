from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app import ingest, migrate, registry
from app.cli import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from tests.conftest import ENGINES, create_database


@dataclass(frozen=True)
class Database:
    url: str
    factory: sessionmaker[Session]
    settings: Settings


@pytest.fixture(scope="module", params=ENGINES)
def jobs_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A database of its own with the starter registry and the 22 demo articles (jobs commit)."""
    url, drop = create_database(request.param, tmp_path_factory.mktemp("jobs"))
    migrate.upgrade(url)
    settings = Settings(
        database_url=url, shift_detection="sync", log_level="WARNING", job_chunk_size=5, job_max_retries=2
    )
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
    articles = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]
    with session_scope(factory) as session:
        ingest.ingest_batch(session, articles, context=ingest.load_registry_context(session), engine="rules")
    yield Database(url, factory, settings)
    engine.dispose()
    drop()
