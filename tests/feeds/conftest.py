from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app import migrate, registry
from app.cli import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from tests.conftest import ENGINES, create_database
from tests.feeds.server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@dataclass(frozen=True)
class Database:
    url: str
    factory: sessionmaker[Session]
    settings: Settings


@pytest.fixture(scope="module", params=ENGINES)
def feeds_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A database of its own holding the starter registry (feed polls commit, like a real poller)."""
    url, drop = create_database(request.param, tmp_path_factory.mktemp("feeds"))
    migrate.upgrade(url)
    settings = Settings(database_url=url, shift_detection="sync", log_level="WARNING")
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
    yield Database(url, factory, settings)
    engine.dispose()
    drop()


def demo_articles() -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(DEMO_CORPUS).read_text(encoding="utf-8").splitlines() if line]


def unique(prefix: str = "https://wire.example") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"
