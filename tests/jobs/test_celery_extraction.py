"""With STANCELINE_BROKER_URL set, articles posted without `wait` are extracted by Celery workers:
the API names them in a task once their transaction has committed, and the beat's pending sweep
takes any whose task was lost (Redis on 127.0.0.1:6379, PostgreSQL)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.ingest import articles as ingest
from app.jobs import broker
from app.main import create_app
from app.models import Article, Observation
from app.ops import migrate
from app.registry import context as registry_context
from app.registry import edits as registry
from app.schemas import ArticleCreate
from app.store import extraction_queue as queue_store
from tests.factories import admin_headers
from tests.jobs.conftest import REDIS_URL
from tests.jobs.test_celery_workers import _kill, _start_worker, _wait_ready

ARTICLES = 30


def test_posted_articles_are_extracted_by_celery_workers(postgres_url: str, tmp_path: Path) -> None:
    migrate.upgrade(postgres_url)
    queue = f"stanceline-test-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        database_url=postgres_url,
        broker_url=REDIS_URL,
        job_queue=queue,
        ingest_wait=False,
        log_level="WARNING",
        migrate_on_start=False,
    )
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
        context = registry_context.load_registry_context(session)
    demo = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]
    items = [
        {**demo[n % len(demo)], "url": f"https://example.org/celery-extract/{n}"} for n in range(ARTICLES)
    ]
    expected = {
        item["url"]: len(
            ingest.extract_items_ahead(
                [data := ArticleCreate.model_validate(item)], context=context, engine="rules"
            )[ingest.content_hash(data)].found
        )
        for item in items
    }
    env = {
        **os.environ,
        "STANCELINE_DATABASE_URL": postgres_url,
        "STANCELINE_BROKER_URL": REDIS_URL,
        "STANCELINE_JOB_QUEUE": queue,
        "STANCELINE_EXTRACTION_ENGINE": "rules",
        "STANCELINE_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "worker.log"
    worker = _start_worker(env, queue, f"x-{queue}", log)
    try:
        _wait_ready([log], time.monotonic() + 60)
        app = create_app(settings)
        with TestClient(app, headers=admin_headers(postgres_url)) as client:
            answer = client.post("/v1/articles/batch", json={"articles": items[:20]}).json()
            assert {r["extraction"] for r in answer["results"]} == {"pending"}
            assert app.state.extraction_pool is None  # the broker's workers extract, not this process
        # the last ten as if their task was lost: stored pending, never announced; the sweep the
        # beat sends every few seconds finds them
        with session_scope(factory) as session:
            ingest.store_batch(
                session, ingest.validate_batch(items[20:]), context=context, engine="rules", defer=True
            )
        broker.send(settings, broker.EXTRACT_PENDING)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with session_scope(factory, write=False) as session:
                if queue_store.queue_state(session).pending == 0:
                    break
            time.sleep(0.2)
        with session_scope(factory, write=False) as session:
            assert queue_store.queue_state(session).pending == 0
            rows = session.execute(
                select(Article.url, func.count(Observation.id))
                .outerjoin(Observation, Observation.article_id == Article.id)
                .group_by(Article.id, Article.url)
            ).all()
        assert {str(url): int(count) for url, count in rows} == expected
        text = log.read_text(errors="replace")
        assert broker.EXTRACT_ARTICLES in text
        assert broker.EXTRACT_PENDING in text
    finally:
        _kill(worker)
        engine.dispose()
