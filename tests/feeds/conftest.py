from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import DEMO_CORPUS
from tests.conftest import ENGINES
from tests.factories import Database, registry_database
from tests.feeds.server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=ENGINES)
def feeds_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A database of its own holding the starter registry (feed polls commit, like a real poller).
    Its settings allow private addresses: the test feeds are served on 127.0.0.1."""
    with registry_database(
        request.param, tmp_path_factory.mktemp("feeds"), feed_allow_private=True
    ) as database:
        yield database


def demo_articles() -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(DEMO_CORPUS).read_text(encoding="utf-8").splitlines() if line]


def unique(prefix: str = "https://wire.example") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"
