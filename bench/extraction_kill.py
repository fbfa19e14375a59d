"""A worker killed in the middle of a backlog: every article is still extracted exactly once.

1,000 articles are stored pending in a fresh database with the starter registry; two local
extraction worker processes (app.jobs.pool) drain them, and one is sent SIGKILL once a third is
done. The supervisor starts a replacement; the articles the dead worker had claimed are taken
again once their lease (2 s here) runs out. Afterwards every article's automatic observations
are compared with what extracting its text alone gives: none missing, none twice.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from sqlalchemy import func, select

from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.ingest import articles as ingest
from app.jobs.pool import ExtractionPool
from app.models import Article, Observation
from app.registry import context as registry_context
from app.registry import edits as registry
from app.store import extraction_queue
from bench.ingest import corpus
from bench.stats import Result


def run(targets: dict[str, str], *, articles: int) -> list[Result]:
    """`targets`: engine -> URL of a migrated, empty database."""
    return [_killed(url, engine, articles) for engine, url in targets.items()]


def _killed(url: str, engine_name: str, articles: int) -> Result:
    settings = Settings(
        database_url=url,
        log_level="WARNING",
        extraction_engine="rules",
        extraction_lease_seconds=2.0,
        extraction_poll_seconds=0.05,
    )
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    texts = corpus(articles, "kill")
    try:
        with session_scope(factory) as session:
            registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
            context = registry_context.load_registry_context(session)
            ingest.store_batch(
                session, ingest.validate_batch(texts), context=context, engine="rules", defer=True
            )
        expected = _expected(texts, context)
        pool = ExtractionPool(settings, factory, processes=2)
        pool.start()
        started = time.perf_counter()
        try:
            pool.announce([])
            killed_at = _kill_one(factory, pool, articles // 3)
            drained = _wait_drained(factory)
        finally:
            pool.stop()
        seconds = time.perf_counter() - started
        stored, duplicates = _stored(factory)
    finally:
        engine.dispose()
    missing = sum(1 for text in texts if stored.get(text["url"], 0) < expected[text["url"]])
    extra = sum(1 for text in texts if stored.get(text["url"], 0) > expected[text["url"]])
    met = drained and missing == 0 and extra == 0 and duplicates == 0
    return Result(
        scenario=f"extraction worker killed mid-backlog ({articles} articles, 2 workers)",
        engine=engine_name,
        size=None,
        unit="articles wrong",
        value=float(missing + extra),
        baseline="-",
        baseline_value=None,
        ratio=None,
        target="0 missing, 0 extracted twice",
        met=met,
        details={
            "articles": articles,
            "killed_after_done": killed_at,
            "missing": missing,
            "more_than_expected": extra,
            "duplicate_observations": duplicates,
            "drained": drained,
            "seconds": round(seconds, 1),
        },
    )


def _expected(texts: list[dict[str, Any]], context: registry_context.RegistryContext) -> dict[str, int]:
    items = ingest.validate_batch(texts).articles.values()
    ahead = ingest.extract_items_ahead(list(items), context=context, engine="rules")
    return {data.url or "": len(ahead[ingest.content_hash(data)].found) for data in items}


def _kill_one(factory: Any, pool: ExtractionPool, after: int) -> int:
    deadline = time.perf_counter() + 600
    while time.perf_counter() < deadline:
        with session_scope(factory, write=False) as session:
            done = session.scalar(select(func.count()).where(Article.extraction_state == "done")) or 0
        if done >= after and pool.pids():
            os.kill(pool.pids()[0], signal.SIGKILL)
            return int(done)
        time.sleep(0.05)
    raise RuntimeError("the workers did not get through a third of the backlog")


def _wait_drained(factory: Any, timeout: float = 1800) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with session_scope(factory, write=False) as session:
            if extraction_queue.queue_state(session).pending == 0:
                return True
        time.sleep(0.1)
    return False


def _stored(factory: Any) -> tuple[dict[str, int], int]:
    """Observations per article url, and how many (article, actor, topic, day, sentence) are
    stored more than once."""
    key = (
        Observation.article_id,
        Observation.actor_id,
        Observation.topic_id,
        Observation.observed_at,
        Observation.evidence_start,
    )
    with session_scope(factory, write=False) as session:
        rows = session.execute(
            select(Article.url, func.count(Observation.id))
            .outerjoin(Observation, Observation.article_id == Article.id)
            .group_by(Article.id, Article.url)
        ).all()
        duplicates = session.scalar(
            select(func.count()).select_from(select(*key).group_by(*key).having(func.count() > 1).subquery())
        )
    return {str(url): int(count) for url, count in rows}, int(duplicates or 0)
