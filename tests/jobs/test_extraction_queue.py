"""Ingest stores, extraction follows: POST /v1/articles answers `extraction: pending` at once, the
workers (local processes, or a drain in this process) extract each queued article exactly once in
its own transaction, failures are retried and then recorded, and a worker killed mid-backlog
loses and repeats nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.cli.main import DEMO_CORPUS
from app.db import session_scope
from app.ingest import articles as ingest
from app.jobs import extraction
from app.jobs.pool import ExtractionPool
from app.main import create_app
from app.models import Article, Observation
from app.registry import context as registry_context
from app.schemas import ArticleCreate
from app.store import extraction_queue as queue_store
from tests.conftest import ENGINES
from tests.factories import Database, admin_headers, registry_database

DEADLINE_SECONDS = 120
DEMO = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(params=ENGINES)
def queue_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with registry_database(
        request.param,
        tmp_path,
        ingest_wait=False,
        extraction_lease_seconds=2.0,
        extraction_poll_seconds=0.1,
        extraction_max_attempts=2,
        job_retry_backoff_max_seconds=1,
    ) as database:
        yield database


def _copies(count: int, tag: str) -> list[dict[str, Any]]:
    """`count` articles: the demo texts under urls of their own."""
    return [{**DEMO[i % len(DEMO)], "url": f"https://example.org/{tag}/{i}"} for i in range(count)]


def _expected_counts(db: Database, items: list[dict[str, Any]]) -> list[int]:
    """What extracting each item in its ingest stores (the synchronous path), per item."""
    with session_scope(db.factory, write=False) as session:
        context = registry_context.load_registry_context(session)
    counts: dict[str, int] = {}
    for item in items:
        data = ArticleCreate.model_validate(item)
        if data.text not in counts:
            counts[data.text] = len(
                ingest.extract_items_ahead([data], context=context, engine="rules")[
                    ingest.content_hash(data)
                ].found
            )
    return [counts[item["text"]] for item in items]


def _stored_counts(db: Database) -> dict[str, int]:
    """Automatic observations per article url, and the duplicates among them (same article, actor,
    topic, day and sentence: what a second extraction of one article would add)."""
    with session_scope(db.factory, write=False) as session:
        rows = session.execute(
            select(Article.url, func.count(Observation.id))
            .outerjoin(Observation, Observation.article_id == Article.id)
            .group_by(Article.url)
        ).all()
        duplicates = session.scalar(
            select(func.count()).select_from(
                select(
                    Observation.article_id,
                    Observation.actor_id,
                    Observation.topic_id,
                    Observation.observed_at,
                    Observation.evidence_start,
                )
                .group_by(
                    Observation.article_id,
                    Observation.actor_id,
                    Observation.topic_id,
                    Observation.observed_at,
                    Observation.evidence_start,
                )
                .having(func.count() > 1)
                .subquery()
            )
        )
    assert duplicates == 0
    return {str(url): int(count) for url, count in rows}


def _wait_until_drained(db: Database) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        with session_scope(db.factory, write=False) as session:
            if queue_store.queue_state(session).pending == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"queue not drained in {DEADLINE_SECONDS}s")


def test_a_posted_article_is_stored_pending_and_extracted_by_the_local_workers(queue_db: Database) -> None:
    app = create_app(queue_db.settings.model_copy(update={"migrate_on_start": False}))
    item = _copies(1, "single")[0]
    expected = _expected_counts(queue_db, [item])[0]
    assert expected > 0
    with TestClient(app, headers=admin_headers(queue_db.url)) as client:
        created = client.post("/v1/articles", json=item)
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["status"], body["extraction"], body["observations"]) == ("created", "pending", 0)
        deadline = time.monotonic() + DEADLINE_SECONDS
        detail = client.get(f"/v1/articles/{body['article_id']}").json()
        while detail["extraction"]["state"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
            detail = client.get(f"/v1/articles/{body['article_id']}").json()
        assert detail["extraction"]["state"] == "done"
        assert detail["extraction"]["extractor_version"]
        assert len(detail["observations"]) == expected
        # the same text again: unchanged, and extracted once
        again = client.post("/v1/articles", json=item).json()
        assert (again["status"], again["extraction"], again["observations"]) == (
            "unchanged",
            "done",
            expected,
        )
        ready = client.get("/readyz").json()
        assert ready["extraction"]["pending"] == 0
        assert ready["extraction"]["local_workers"] == 1
        assert "stanceline_extraction_queue_depth 0" in client.get("/metrics").text


def test_wait_true_extracts_in_the_request(queue_db: Database) -> None:
    app = create_app(
        queue_db.settings.model_copy(update={"migrate_on_start": False, "extraction_workers": 0})
    )
    item = _copies(1, "waited")[0]
    with TestClient(app, headers=admin_headers(queue_db.url)) as client:
        body = client.post("/v1/articles?wait=true", json=item).json()
        assert body["extraction"] == "done"
        assert body["observations"] == _expected_counts(queue_db, [item])[0]
        batch = client.post("/v1/articles/batch", json={"articles": _copies(3, "batch")}).json()
        assert [r["extraction"] for r in batch["results"]] == ["pending"] * 3
        ready = client.get("/readyz").json()["extraction"]
        assert (ready["pending"], ready.get("local_workers")) == (3, None)
        assert ready["lag_seconds"] >= 0


def test_concurrent_drains_extract_each_article_once(queue_db: Database) -> None:
    items = _copies(40, "race")
    with session_scope(queue_db.factory) as session:
        context = registry_context.load_registry_context(session)
        ingest.store_batch(session, ingest.validate_batch(items), context=context, engine="rules", defer=True)
    settings = queue_db.settings.model_copy(update={"extraction_claim_size": 3})
    outcomes: list[extraction.DrainOutcome] = []

    def drain() -> None:
        outcomes.append(
            extraction.drain(queue_db.factory, settings=settings, cache=registry_context.RegistryCache())
        )

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(o.done for o in outcomes) == 40
    stored = _stored_counts(queue_db)
    assert [stored[item["url"]] for item in items] == _expected_counts(queue_db, items)


def test_a_failing_extraction_is_retried_then_recorded(
    queue_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _copies(2, "failing")
    with session_scope(queue_db.factory) as session:
        context = registry_context.load_registry_context(session)
        ingest.store_batch(session, ingest.validate_batch(items), context=context, engine="rules", defer=True)

    def broken(*args: Any, **kwargs: Any) -> ingest.Extraction:
        raise RuntimeError("the parser fell over")

    monkeypatch.setattr(ingest, "extract_ahead", broken)
    cache = registry_context.RegistryCache()
    first = extraction.drain(queue_db.factory, settings=queue_db.settings, cache=cache)
    assert (first.retry, first.failed) == (2, 0)
    # waiting out its backoff, an article is not claimable
    assert extraction.drain(queue_db.factory, settings=queue_db.settings, cache=cache).retry == 0
    with session_scope(queue_db.factory) as session:
        session.execute(update(Article).values(extraction_lease_until=None))
    second = extraction.drain(queue_db.factory, settings=queue_db.settings, cache=cache)
    assert second.failed == 2  # extraction_max_attempts=2
    app = create_app(
        queue_db.settings.model_copy(update={"migrate_on_start": False, "extraction_workers": 0})
    )
    with TestClient(app, headers=admin_headers(queue_db.url)) as client:
        article = client.get("/v1/articles", params={"limit": 1}).json()["items"][0]
        detail = client.get(f"/v1/articles/{article['id']}").json()["extraction"]
        assert (detail["state"], detail["attempts"]) == ("failed", 2)
        assert "the parser fell over" in detail["error"]
        assert client.get("/readyz").json()["extraction"]["failed"] == 2
    monkeypatch.undo()
    with session_scope(queue_db.factory) as session:
        assert queue_store.requeue_failed(session) == 2
    assert extraction.drain(queue_db.factory, settings=queue_db.settings, cache=cache).done == 2


def test_a_worker_killed_mid_backlog_loses_and_repeats_nothing(queue_db: Database) -> None:
    items = _copies(120, "killed")
    expected = _expected_counts(queue_db, items)
    with session_scope(queue_db.factory) as session:
        context = registry_context.load_registry_context(session)
        ingest.store_batch(session, ingest.validate_batch(items), context=context, engine="rules", defer=True)
    pool = ExtractionPool(queue_db.settings, queue_db.factory, processes=2)
    pool.start()
    try:
        pool.announce([])
        victim = _first_worker_after_some_work(queue_db, pool)
        os.kill(victim, signal.SIGKILL)
        _wait_until_drained(queue_db)
    finally:
        pool.stop(timeout=30)
    stored = _stored_counts(queue_db)
    assert [stored[item["url"]] for item in items] == expected


def _first_worker_after_some_work(db: Database, pool: ExtractionPool) -> int:
    """A live worker's pid once some articles (not all) are extracted."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        with session_scope(db.factory, write=False) as session:
            done = session.scalar(select(func.count()).where(Article.extraction_state == queue_store.DONE))
        if done and done >= 5 and pool.pids():
            return pool.pids()[0]
        time.sleep(0.05)
    raise AssertionError("the workers extracted nothing")
