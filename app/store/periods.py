"""Timeline buckets in SQL: the UTC day of a timestamp and the first day of a date's bucket.

`bucket_start_of` is the SQL twin of `app.timelines.periods.bucket_start` (a day, the Monday of
its ISO week, the first of its month), built by one function per dialect; queries that bucket
rows use it, and tests/db/test_bucket_boundaries.py checks it against the Python function on both
engines. (Migration 0006 keeps its own copy of these expressions, as migrations must.)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, DateTime, cast, func, literal_column, type_coerce
from sqlalchemy.sql.expression import ColumnElement

from app.timelines.frames import INTERVALS


def utc_day_of(dialect: str, column: Any) -> ColumnElement[date]:
    """SQL for the UTC day of a timestamp column, typed as a date on both engines."""
    if dialect == "sqlite":  # stored as naive UTC text
        return type_coerce(func.date(column), Date)
    return cast(func.timezone(literal_column("'UTC'"), column), Date)


def _sqlite_bucket_start(interval: str, day: Any) -> ColumnElement[date]:
    # dates are ISO text, which SQLite's date functions read; 'weekday 0' moves on to the next
    # Sunday (or stays on one), six days before which is the Monday
    if interval == "day":
        return type_coerce(func.date(day), Date)
    if interval == "week":
        return type_coerce(func.date(day, "weekday 0", "-6 days"), Date)
    return type_coerce(func.strftime("%Y-%m-01", day), Date)


def _postgresql_bucket_start(interval: str, day: Any) -> ColumnElement[date]:
    # date_trunc('week', ...) truncates to the ISO week's Monday
    return cast(func.date_trunc(interval, cast(day, DateTime())), Date)


def bucket_start_of(dialect: str, interval: str, day: Any) -> ColumnElement[date]:
    """SQL for the first day of the day, ISO week (Monday) or month that a date column falls in,
    as a date (ISO text on SQLite, DATE on PostgreSQL)."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}")
    build = _sqlite_bucket_start if dialect == "sqlite" else _postgresql_bucket_start
    return build(interval, day)
