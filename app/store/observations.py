from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.models import Actor, Observation, Topic
from app.store.filters import ObservationFilter
from app.store.keyset import after_key


def _with_slugs() -> tuple[Any, ...]:
    return (joinedload(Observation.actor), joinedload(Observation.topic))


def get_observation(session: Session, *, observation_id: int, for_update: bool = False) -> Observation | None:
    """One observation; `for_update` locks its row until the transaction ends (PostgreSQL; SQLite
    writers are serialised anyway)."""
    stmt = select(Observation).options(*_with_slugs()).where(Observation.id == observation_id)
    if for_update:
        stmt = stmt.with_for_update(of=Observation)
    return session.scalars(stmt).one_or_none()


def list_observations(
    session: Session, *, filters: ObservationFilter, after: tuple[datetime, int] | None = None, limit: int
) -> list[Observation]:
    stmt = (
        select(Observation)
        .options(*_with_slugs())
        .where(*filters.clauses())
        .order_by(Observation.observed_at, Observation.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(after_key(Observation.observed_at, Observation.id, after))
    return list(session.scalars(stmt))


def list_article_observations(session: Session, *, article_id: int) -> list[Observation]:
    stmt = (
        select(Observation)
        .options(*_with_slugs())
        .where(Observation.article_id == article_id)
        .order_by(Observation.evidence_start, Observation.id)
    )
    return list(session.scalars(stmt))


def count_article_observations(session: Session, *, article_id: int) -> int:
    stmt = select(func.count()).select_from(Observation).where(Observation.article_id == article_id)
    return int(session.scalar(stmt) or 0)


def add_observations(session: Session, *, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert (one executemany, no per-row ORM round trips)."""
    if rows:
        session.execute(insert(Observation), list(rows))


def delete_automatic_observations(session: Session, *, article_id: int) -> int:
    """Drop what extraction produced for an article; manual coding stays."""
    result = session.execute(
        delete(Observation)
        .where(Observation.article_id == article_id, Observation.method != "manual")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_unreviewed_automatic(session: Session, *, article_id: int) -> int:
    """Drop automatic observations nobody has reviewed; manual and reviewed ones stay."""
    result = session.execute(
        delete(Observation)
        .where(
            Observation.article_id == article_id,
            Observation.method != "manual",
            Observation.status == "auto",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def article_pairs(session: Session, *, article_id: int) -> set[tuple[int, int]]:
    """(topic_id, actor_id) of every observation of an article."""
    stmt = select(Observation.topic_id, Observation.actor_id).where(Observation.article_id == article_id)
    return {(topic_id, actor_id) for topic_id, actor_id in session.execute(stmt)}


def automatic_pairs(session: Session, *, article_id: int, unreviewed_only: bool) -> set[tuple[int, int]]:
    """(topic_id, actor_id) of an article's automatic observations."""
    stmt = select(Observation.topic_id, Observation.actor_id).where(
        Observation.article_id == article_id, Observation.method != "manual"
    )
    if unreviewed_only:
        stmt = stmt.where(Observation.status == "auto")
    return {(topic_id, actor_id) for topic_id, actor_id in session.execute(stmt)}


def kept_keys(session: Session, *, article_id: int) -> set[tuple[int, int, str]]:
    """(actor_id, topic_id, observed day) of an article's manual or reviewed observations."""
    rows = session.execute(
        select(Observation.actor_id, Observation.topic_id, Observation.observed_at).where(
            Observation.article_id == article_id,
            (Observation.method == "manual") | (Observation.status != "auto"),
        )
    )
    return {(actor_id, topic_id, observed_at.date().isoformat()) for actor_id, topic_id, observed_at in rows}


def actor_slugs_on_topic(session: Session, *, topic_id: int) -> list[str]:
    """Actors with observations on a topic, most observed first."""
    stmt = (
        select(Actor.slug)
        .join(Observation, Observation.actor_id == Actor.id)
        .where(Observation.topic_id == topic_id, Observation.status != "rejected")
        .group_by(Actor.slug)
        .order_by(func.count().desc(), Actor.slug)
    )
    return list(session.scalars(stmt))


def coding_pairs(session: Session, *, topic_id: int | None) -> list[tuple[str, str, str]]:
    """(topic slug, automatic label, manual label) for every manual observation of an article.

    The automatic side is the extractor's observation of the same article, actor and topic on the
    nearest day ("none" when the extractor coded nothing there, "rejected" when a reviewer rejected it).
    """
    manual = aliased(Observation)
    auto = aliased(Observation)
    stmt = (
        select(
            Topic.slug, manual.id, manual.label, manual.observed_at, auto.label, auto.status, auto.observed_at
        )
        .select_from(manual)
        .join(Topic, Topic.id == manual.topic_id)
        .outerjoin(
            auto,
            (auto.article_id == manual.article_id)
            & (auto.actor_id == manual.actor_id)
            & (auto.topic_id == manual.topic_id)
            & (auto.method != "manual"),
        )
        .where(manual.method == "manual", manual.article_id.is_not(None))
        .order_by(manual.id)
    )
    if topic_id is not None:
        stmt = stmt.where(manual.topic_id == topic_id)
    best: dict[int, tuple[str, str, str, float]] = {}
    for slug, manual_id, manual_label, manual_at, auto_label, auto_status, auto_at in session.execute(stmt):
        if auto_label is None:
            candidate = (slug, "none", manual_label, float("inf"))
        else:
            automatic = "rejected" if auto_status == "rejected" else auto_label
            candidate = (slug, automatic, manual_label, abs((auto_at - manual_at).total_seconds()))
        if manual_id not in best or candidate[3] < best[manual_id][3]:
            best[manual_id] = candidate
    return [(slug, automatic, manual_label) for slug, automatic, manual_label, _ in best.values()]
