"""Concurrent writers on a real database (no shared test transaction): one article per url, no
deadlock between overlapping batches, reviews that queue or refuse a stale version."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.models import Article, Observation
from app.ops import migrate
from app.registry.edits import STARTER_REGISTRY
from tests.conftest import ENGINES, create_database
from tests.factories import admin_headers, article_payload

T = TypeVar("T")
RUNS = 5
WRITERS = 16


@pytest.fixture(params=ENGINES)
def live(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient, Callable[[], Session]]]:
    url, drop = create_database(request.param, tmp_path)
    migrate.upgrade(url)
    settings = Settings(database_url=url, shift_detection="off")
    engine = make_engine(settings)
    try:
        with TestClient(create_app(settings), headers=admin_headers(url)) as client:
            assert (
                client.post("/v1/registry", json=orjson.loads(STARTER_REGISTRY.read_bytes())).status_code
                == 200
            )
            yield client, make_sessionmaker(engine)
    finally:
        engine.dispose()
        drop()


def _all_at_once(work: Callable[[int], T], count: int) -> list[T]:
    """Run `work(i)` for i in range(count) on `count` threads released together."""
    start = threading.Barrier(count)

    def run(i: int) -> T:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _observations_of(session: Session, article_id: int) -> int:
    stmt = select(func.count()).select_from(Observation).where(Observation.article_id == article_id)
    return int(session.scalar(stmt) or 0)


def test_racing_posts_of_one_url_make_one_article(live: tuple[TestClient, Callable[[], Session]]) -> None:
    client, sessions = live
    duplicates = 0
    for _ in range(RUNS):
        payload = article_payload()
        responses = _all_at_once(lambda _i, p=payload: client.post("/v1/articles", json=p), WRITERS)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * (WRITERS - 1) + [201], [r.text for r in responses if r.status_code >= 300]
        assert {r.json()["status"] for r in responses} == {"created", "unchanged"}
        [article_id] = {r.json()["article_id"] for r in responses}
        with sessions() as session:
            stored = session.scalar(
                select(func.count()).select_from(Article).where(Article.url == payload["url"])
            )
            observations = _observations_of(session, article_id)
        expected = next(r.json()["observations"] for r in responses if r.status_code == 201)
        assert expected > 0
        duplicates += (stored or 0) - 1 + observations - expected
    print(f"\nconcurrency: {RUNS} runs x {WRITERS} posts of one url, duplicates found: {duplicates}")
    assert duplicates == 0


def test_overlapping_batches_neither_deadlock_nor_duplicate(
    live: tuple[TestClient, Callable[[], Session]],
) -> None:
    client, sessions = live
    rng = random.Random(7)
    duplicates = 0
    for run in range(RUNS):
        # new sources too: their rows are contended as well as the articles'
        pool = [article_payload(source=f"Wire {run}-{i % 3}") for i in range(40)]
        batches = [rng.sample(pool, 25) for _ in range(4)]
        responses = _all_at_once(
            lambda i, b=batches: client.post("/v1/articles/batch", json={"articles": b[i]}), 4
        )
        assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
        by_url: dict[str, set[int]] = {}
        counts: dict[int, int] = {}
        for batch, response in zip(batches, responses, strict=True):
            for payload, result in zip(batch, response.json()["results"], strict=True):
                assert result["status"] in ("created", "unchanged"), result
                by_url.setdefault(payload["url"], set()).add(result["article_id"])
                counts[result["article_id"]] = result["observations"]
        assert all(len(ids) == 1 for ids in by_url.values())
        with sessions() as session:
            urls = [p["url"] for p in pool if p["url"] in by_url]
            stored = (
                session.scalar(select(func.count()).select_from(Article).where(Article.url.in_(urls))) or 0
            )
            duplicates += stored - len(urls)
            duplicates += sum(_observations_of(session, a) - n for a, n in counts.items())
    print(f"\nconcurrency: {RUNS} runs x 4 overlapping batches of 25, duplicates found: {duplicates}")
    assert duplicates == 0


def _manual(client: TestClient) -> dict[str, Any]:
    body = {"actor": "france", "topic": "ground-troops-ukraine", "score": 1.0, "observed_at": "2025-03-03"}
    response = client.post("/v1/stances", json=body)
    assert response.status_code == 201
    return dict(response.json())


def test_a_review_based_on_a_stale_version_is_refused(live: tuple[TestClient, Callable[[], Session]]) -> None:
    client, _ = live
    observation = _manual(client)
    seen = observation["updated_at"]
    responses = _all_at_once(
        lambda i: client.patch(
            f"/v1/stances/{observation['id']}", json={"score": -0.1 * (i + 1), "expected_updated_at": seen}
        ),
        8,
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 7
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"stale_version"}
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert client.get(f"/v1/stances/{observation['id']}").json()["score"] == winner["score"]


def test_reviews_without_a_version_queue_and_the_last_one_wins(
    live: tuple[TestClient, Callable[[], Session]],
) -> None:
    client, _ = live
    observation = _manual(client)
    responses = _all_at_once(
        lambda i: client.patch(f"/v1/stances/{observation['id']}", json={"score": -0.1 * (i + 1)}), 8
    )
    assert [r.status_code for r in responses] == [200] * 8
    versions = sorted(r.json()["updated_at"] for r in responses)
    assert len(set(versions)) == 8, "each review is its own version"
    last = max(responses, key=lambda r: r.json()["updated_at"]).json()
    assert client.get(f"/v1/stances/{observation['id']}").json()["score"] == last["score"]
