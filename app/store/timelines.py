"""Timeline inputs from SQL: bucket sums per (actor, bucket), observation rows, memberships.

Frames follow the contracts documented in `app.timelines`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import Selectable

from app.models import Actor, ActorMembership, Article, Observation
from app.store.filters import window

SUM_COLUMNS = ["series", "bucket", "count", "weight", "weighted_sum", "weight_sq", "weighted_sq_sum"]
ROW_COLUMNS = [
    "id",
    "actor",
    "observed_at",
    "score",
    "confidence",
    "shift",
    "evidence",
    "article_id",
    "article_url",
]
MEMBERSHIP_COLUMNS = ["actor", "parent", "valid_from", "valid_to"]


def bucket_start(dialect: str, interval: str, column: Any) -> ColumnElement[Any]:
    """The UTC start of the day, ISO week (Monday) or month that `column` falls in."""
    if dialect == "sqlite":
        # observed_at is stored as naive UTC text, which SQLite's date functions read as UTC
        if interval == "day":
            return func.date(column)
        if interval == "week":
            return func.date(column, "weekday 0", "-6 days")
        return func.strftime("%Y-%m-01", column)
    return func.date_trunc(interval, func.timezone(literal_column("'UTC'"), column))


def _read(session: Session, stmt: Selectable, columns: list[str]) -> pd.DataFrame:
    frame = pd.read_sql(stmt, session.connection())
    if frame.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
    return frame[columns]


def bucket_sums(
    session: Session,
    *,
    topic_id: int,
    actor_ids: list[int] | None,
    interval: str,
    observed_from: datetime | None,
    observed_to: datetime | None,
) -> pd.DataFrame:
    """One row per (actor, bucket) with the sums a weighted mean and its standard error need.

    Every actor on the topic when `actor_ids` is None. Rejected observations are excluded.
    Columns: series (actor slug), bucket (UTC), count, weight, weighted_sum, weight_sq, weighted_sq_sum.
    """
    dialect = session.get_bind().dialect.name
    bucket = bucket_start(dialect, interval, Observation.observed_at).label("bucket")
    confidence, score = Observation.confidence, Observation.score
    stmt = (
        select(
            Actor.slug.label("series"),
            bucket,
            func.count().label("count"),
            func.sum(confidence).label("weight"),
            func.sum(confidence * score).label("weighted_sum"),
            func.sum(confidence * confidence).label("weight_sq"),
            func.sum(confidence * score * score).label("weighted_sq_sum"),
        )
        .join(Actor, Actor.id == Observation.actor_id)
        .where(
            Observation.topic_id == topic_id,
            Observation.status != "rejected",
            *window(observed_from, observed_to),
        )
        .group_by(Actor.slug, bucket)
        .order_by(Actor.slug, bucket)
    )
    if actor_ids is not None:
        stmt = stmt.where(Observation.actor_id.in_(actor_ids))
    frame = _read(session, stmt, SUM_COLUMNS)
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    for column in SUM_COLUMNS[3:]:
        frame[column] = frame[column].astype(float)
    frame["count"] = frame["count"].astype(int)
    return frame


def observation_rows(
    session: Session,
    *,
    topic_id: int,
    actor_ids: list[int] | None,
    observed_from: datetime | None = None,
    observed_to: datetime | None = None,
) -> pd.DataFrame:
    """Observation rows of a topic (all actors when `actor_ids` is None), rejected ones excluded."""
    stmt = (
        select(
            Observation.id,
            Actor.slug.label("actor"),
            Observation.observed_at,
            Observation.score,
            Observation.confidence,
            Observation.shift,
            Observation.evidence,
            Observation.article_id,
            Article.url.label("article_url"),
        )
        .join(Actor, Actor.id == Observation.actor_id)
        .outerjoin(Article, Article.id == Observation.article_id)
        .where(
            Observation.topic_id == topic_id,
            Observation.status != "rejected",
            *window(observed_from, observed_to),
        )
        .order_by(Observation.observed_at, Observation.id)
    )
    if actor_ids is not None:
        stmt = stmt.where(Observation.actor_id.in_(actor_ids))
    frame = _read(session, stmt, ROW_COLUMNS)
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True, format="mixed")
    frame["shift"] = frame["shift"].astype(bool)
    frame["score"] = frame["score"].astype(float)
    frame["confidence"] = frame["confidence"].astype(float)
    return frame


def memberships(session: Session) -> pd.DataFrame:
    """Every membership edge: actor, parent (slugs), valid_from, valid_to (UTC, NaT when open),
    parent_kind (the parent's actor kind: groups speak in part for blocs, see `rollup`).

    The registry's `to` date is inclusive (the UK was in the EU on 2020-01-31); the frame's
    `valid_to` is the exclusive instant after it (midnight starting the next day).
    """
    parent = aliased(Actor)
    stmt = (
        select(
            Actor.slug.label("actor"),
            parent.slug.label("parent"),
            ActorMembership.valid_from,
            ActorMembership.valid_to,
            parent.kind.label("parent_kind"),
        )
        .join(Actor, Actor.id == ActorMembership.actor_id)
        .join(parent, parent.id == ActorMembership.parent_id)
    )
    frame = _read(session, stmt, [*MEMBERSHIP_COLUMNS, "parent_kind"])
    for column in ("valid_from", "valid_to"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["valid_to"] = frame["valid_to"] + pd.Timedelta(days=1)
    return frame


def member_ids(session: Session, *, actor_ids: list[int]) -> list[int]:
    """The actors themselves, everyone who was ever, directly or transitively, their member, and
    the groups any of those ever belonged to (a group speaks in part for its members' blocs)."""
    found = set(actor_ids)
    frontier = set(actor_ids)
    while frontier:
        rows = session.scalars(
            select(ActorMembership.actor_id).where(ActorMembership.parent_id.in_(frontier))
        )
        frontier = set(rows) - found
        found |= frontier
    return sorted(found | _groups_of(session, found))


def ancestor_ids(session: Session, *, actor_ids: set[int]) -> set[int]:
    """Every actor whose roll-up the given actors' observations can reach: what they ever belonged
    to, transitively, and, for groups, what their members belonged to."""
    found: set[int] = set()
    frontier = set(actor_ids)
    group_ids = {
        i for i in actor_ids if (actor := session.get(Actor, i)) is not None and actor.kind == "group"
    }
    if group_ids:
        frontier |= set(
            session.scalars(select(ActorMembership.actor_id).where(ActorMembership.parent_id.in_(group_ids)))
        )
    while frontier:
        rows = session.scalars(
            select(ActorMembership.parent_id).where(ActorMembership.actor_id.in_(frontier))
        )
        frontier = set(rows) - found - actor_ids
        found |= frontier
    return found


def _groups_of(session: Session, actor_ids: set[int]) -> set[int]:
    stmt = (
        select(ActorMembership.parent_id)
        .join(Actor, Actor.id == ActorMembership.parent_id)
        .where(ActorMembership.actor_id.in_(actor_ids), Actor.kind == "group")
    )
    return set(session.scalars(stmt))
