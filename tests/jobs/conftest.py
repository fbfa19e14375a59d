from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from app import ingest
from app.cli import DEMO_CORPUS
from app.db import session_scope
from tests.conftest import ENGINES
from tests.factories import Database, registry_database


@pytest.fixture(scope="module", params=ENGINES)
def jobs_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A database of its own with the starter registry and the 22 demo articles (jobs commit)."""
    with registry_database(
        request.param, tmp_path_factory.mktemp("jobs"), job_chunk_size=5, job_max_retries=2
    ) as database:
        articles = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]
        with session_scope(database.factory) as session:
            context = ingest.load_registry_context(session)
            ingest.ingest_batch(session, articles, context=context, engine="rules")
        yield database
