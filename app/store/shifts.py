from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.orm import Session, joinedload

from app.models import Article, Observation, Shift


def list_series_shifts(session: Session, *, topic_id: int, actor_id: int) -> list[Shift]:
    """Every recorded shift of one series, active and withdrawn."""
    stmt = select(Shift).where(Shift.topic_id == topic_id, Shift.actor_id == actor_id)
    return list(session.scalars(stmt.order_by(Shift.at)))


def list_shifts(
    session: Session,
    *,
    topic_id: int | None,
    actor_ids: list[int] | None,
    at_from: datetime | None,
    at_to: datetime | None,
    min_delta: float,
    updated_since: datetime | None,
    include_withdrawn: bool,
    limit: int,
    basis: Sequence[str] = (),
    min_confidence: float = 0.0,
) -> list[Shift]:
    """Shifts, strongest first (|delta| x confidence). `basis`: only shifts with any of these bases."""
    stmt = select(Shift).options(joinedload(Shift.actor), joinedload(Shift.topic))
    if topic_id is not None:
        stmt = stmt.where(Shift.topic_id == topic_id)
    if actor_ids is not None:
        stmt = stmt.where(Shift.actor_id.in_(actor_ids))
    if at_from is not None:
        stmt = stmt.where(Shift.at >= at_from)
    if at_to is not None:
        stmt = stmt.where(Shift.at < at_to)
    if updated_since is not None:
        stmt = stmt.where(Shift.updated_at >= updated_since)
    if not include_withdrawn:
        stmt = stmt.where(Shift.status == "active")
    if basis:
        stmt = stmt.where(has_basis(basis))
    if min_confidence > 0:
        stmt = stmt.where(Shift.confidence >= min_confidence)
    strength = func.abs(Shift.delta) * Shift.confidence
    stmt = stmt.where(func.abs(Shift.delta) >= min_delta).order_by(strength.desc(), Shift.id).limit(limit)
    return list(session.scalars(stmt))


def has_basis(bases: Sequence[str]) -> ColumnElement[bool]:
    """Shifts with any of `bases` among theirs: LIKE on ",<basis>,", alike on SQLite and PostgreSQL."""
    fenced = literal(",") + Shift.basis + literal(",")
    return or_(*(fenced.contains(f",{b},", autoescape=True) for b in dict.fromkeys(bases)))


def evidence_rows(session: Session, *, observation_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Evidence of the observations a shift cites: id -> observed_at, score, evidence, article url/title."""
    wanted = set(observation_ids)
    if not wanted:
        return {}
    stmt = (
        select(
            Observation.id,
            Observation.observed_at,
            Observation.score,
            Observation.shift,
            Observation.evidence,
            Observation.speaker,
            Observation.article_id,
            Observation.extras,
            Article.url,
            Article.title,
        )
        .outerjoin(Article, Article.id == Observation.article_id)
        .where(Observation.id.in_(wanted))
    )
    return {row.id: dict(row._mapping) for row in session.execute(stmt)}
