"""Timeline bucketing in SQL, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from app.models import Actor, Observation
from app.store.filters import window

BUCKET_COLUMNS = ["actor", "name", "bucket", "weighted_sum", "weight", "score_sum", "count"]


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


def bucket_observations(
    session: Session,
    *,
    topic_id: int,
    actor_ids: list[int],
    interval: str,
    observed_from: datetime | None,
    observed_to: datetime | None,
) -> pd.DataFrame:
    """One row per (actor, bucket) with the sums a weighted mean needs; rejected observations excluded.

    Columns: actor (slug), name, bucket (UTC Timestamp), weighted_sum, weight, score_sum, count.
    """
    dialect = session.get_bind().dialect.name
    bucket = bucket_start(dialect, interval, Observation.observed_at).label("bucket")
    stmt = (
        select(
            Actor.slug.label("actor"),
            Actor.name.label("name"),
            bucket,
            func.sum(Observation.score * Observation.confidence).label("weighted_sum"),
            func.sum(Observation.confidence).label("weight"),
            func.sum(Observation.score).label("score_sum"),
            func.count().label("count"),
        )
        .join(Actor, Actor.id == Observation.actor_id)
        .where(
            Observation.topic_id == topic_id,
            Observation.actor_id.in_(actor_ids),
            Observation.status != "rejected",
            *window(observed_from, observed_to),
        )
        .group_by(Actor.slug, Actor.name, bucket)
        .order_by(Actor.slug, bucket)
    )
    frame = pd.read_sql(stmt, session.connection())
    if frame.empty:
        return pd.DataFrame({column: [] for column in BUCKET_COLUMNS})
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    return frame[BUCKET_COLUMNS]
