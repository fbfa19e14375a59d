"""Each server process keeps its own cache of finished reads: a write through one process makes
every other process recompute, on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.api.test_read_cache import TIMELINE, code_stance, count_of
from tests.conftest import ENGINES
from tests.factories import admin_headers, registry_database
from tests.workload import ACTORS, TOPIC

INTERVALS = ("day", "week", "month")


@pytest.fixture(params=ENGINES)
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with registry_database(request.param, tmp_path, shift_detection="off") as database:
        yield database.settings


def test_a_write_in_one_process_makes_the_other_process_recompute(shared_database: Settings) -> None:
    """Two apps on one database, as two workers are: each has its own cache."""
    headers = admin_headers(shared_database.database_url)
    with (
        TestClient(create_app(shared_database), headers=headers) as writer,
        TestClient(create_app(shared_database), headers=headers) as reader,
    ):
        code_stance(writer, "france", "2025-03-03", 0.5)
        before = reader.get(TIMELINE)
        assert count_of(before.json(), "france") == 1
        assert reader.get(TIMELINE).content == before.content
        code_stance(writer, "france", "2025-03-04", 0.5)
        after = reader.get(TIMELINE)
        assert count_of(after.json(), "france") == 2
        assert after.headers["etag"] != before.headers["etag"]


def test_many_more_simultaneous_reads_than_pooled_connections_all_complete(shared_database: Settings) -> None:
    """Key checks and revisions are read on a connection of their own (`app.db.InlineReads`): they
    must never wait for a pooled connection the handlers hold (the requests would queue behind the
    slowest handler, or fail at the pool's timeout)."""
    settings = shared_database.model_copy(update={"db_pool_size": 2})
    headers = admin_headers(settings.database_url)
    app = create_app(settings)
    with TestClient(app, headers=headers) as client:
        for actor in ACTORS:
            code_stance(client, actor, "2025-03-03", 0.5)
    urls = [f"/v1/timelines?topic={TOPIC}&actor={a}&interval={i}" for a in ACTORS for i in INTERVALS]

    async def read_all() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client,
        ):
            responses = await asyncio.gather(*(client.get(url) for url in urls * 2))
            return [r.status_code for r in responses]

    # a generous bound on a hang, not a timing: each request takes milliseconds
    statuses = asyncio.run(asyncio.wait_for(read_all(), timeout=120))
    assert statuses == [200] * len(urls) * 2
