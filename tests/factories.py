"""Plain factory functions: each adds what it makes and flushes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app import auth
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.ingest import articles as ingest
from app.models import Actor, Observation, Shift, Topic
from app.ops import migrate
from app.registry import context as registry_context
from app.registry import edits as registry
from app.schemas import ArticleCreate

_counter = itertools.count(1)


def article_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    payload: dict[str, Any] = {
        "url": f"https://example.org/test/{n}",
        "title": f"Test article {n}",
        "published_at": "2025-03-26T08:00:00Z",
        "source": "Test Wire",
        "language": "en",
        "text": (
            "PARIS, March 26 - European leaders are taking a step back from sending ground troops to Ukraine. "
            "Russia has repeatedly said it would never accept foreign troops in Ukraine."
        ),
    }
    payload.update(overrides)
    return payload


def make_article(session: Session, **overrides: Any) -> ingest.IngestOutcome:
    context = registry_context.load_registry_context(session)
    data = ArticleCreate.model_validate(article_payload(**overrides))
    return ingest.ingest_article(session, data, context=context, engine="rules")


def make_actor(session: Session, slug: str, *, kind: str = "state", name: str | None = None) -> Actor:
    actor = Actor(slug=slug, name=name or slug.title(), kind=kind)
    session.add(actor)
    session.flush()
    return actor


def make_topic(session: Session, slug: str) -> Topic:
    topic = Topic(slug=slug, name=slug.replace("-", " "), description="", keywords=[], examples=[])
    session.add(topic)
    session.flush()
    return topic


def make_observation(
    session: Session, *, actor: Actor, topic: Topic, score: float = 0.5, **overrides: Any
) -> Observation:
    values: dict[str, Any] = {
        "actor_id": actor.id,
        "topic_id": topic.id,
        "score": score,
        "label": "support" if score > 0.15 else "oppose" if score < -0.15 else "neutral",
        "confidence": 1.0,
        "observed_at": datetime(2025, 3, 26, tzinfo=UTC),
        "method": "manual",
        "status": "verified",
    }
    values.update(overrides)
    observation = Observation(**values)
    session.add(observation)
    session.flush()
    return observation


def make_shift(
    session: Session, *, actor: Actor, topic: Topic, basis: str = "statistical", **overrides: Any
) -> Shift:
    """A stored shift as detection would record it; `basis` comma-joined, strongest first."""
    at = overrides.pop("at", datetime(2025, 3, 26, tzinfo=UTC))
    values: dict[str, Any] = {
        "actor_id": actor.id,
        "topic_id": topic.id,
        "direction": "toward_oppose",
        "at": at,
        "window_start": at,
        "window_end": at,
        "before": 0.8,
        "after": -0.4,
        "delta": -1.2,
        "confidence": 0.97,
        "basis": basis,
        "reasons": [f"reason for {b}" for b in basis.split(",")],
        "status": "active",
    }
    values.update(overrides)
    shift = Shift(**values)
    session.add(shift)
    session.flush()
    return shift


def admin_headers(database_url: str) -> dict[str, str]:
    """Headers carrying a new admin key stored in the (migrated) database at `database_url`."""
    engine = make_engine(Settings(database_url=database_url))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            _, plain = auth.create_key(session, name="tests", scopes=["admin"])
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {plain}"}


@dataclass(frozen=True)
class Database:
    """A database of its own whose work commits (pollers, jobs), with the starter registry."""

    url: str
    factory: sessionmaker[Session]
    settings: Settings


@contextmanager
def registry_database(kind: str, tmp_dir: Path, **settings: Any) -> Iterator[Database]:
    """A fresh, migrated `kind` database holding the starter registry; dropped afterwards."""
    from tests.conftest import create_database  # conftest imports nothing from here: no cycle

    url, drop = create_database(kind, tmp_dir)
    migrate.upgrade(url)
    configured = Settings(
        **{"database_url": url, "shift_detection": "sync", "log_level": "WARNING", **settings}
    )
    engine = make_engine(configured)
    factory = make_sessionmaker(engine, configured)
    try:
        with session_scope(factory) as session:
            registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
        yield Database(url, factory, configured)
    finally:
        engine.dispose()
        drop()


def ingest_batch(
    session: Session,
    items: Sequence[Any],
    *,
    context: registry_context.RegistryContext,
    engine: str = "rules",
) -> ingest.BatchOutcome:
    """`ingest.store_batch` of raw items (validated here), extracted in the transaction: a quick
    way to fill a database in a test."""
    return ingest.store_batch(session, ingest.validate_batch(items), context=context, engine=engine)
