"""Timeline buckets: where the day, week or month bucket that a date falls in starts.

The one definition of a bucket boundary. A bucket starts on the UTC day itself (`day`), on the
Monday of its ISO week (`week`), or on the first of its month (`month`), and ends where the next
one starts.

    bucket_start(day, interval) -> date           the first day of `day`'s bucket
    next_bucket_start(day, interval) -> date      the first day of the bucket after it
    bucket_start_days(days, interval) -> array    `bucket_start` of days since 1970-01-01 (vectorised)
    shift_bucket_days(starts, interval, n)        bucket starts moved by n buckets (vectorised)
    epoch_days(values), epoch_day(value)          UTC timestamps -> days since 1970-01-01

Queries bucket in SQL with `app.store.periods.bucket_start_of`, the SQL twin of `bucket_start`
(tests/db/test_bucket_boundaries.py checks that both agree on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from app.timelines.frames import INTERVALS, UTC_NS, utc

DAY_NS = 86_400_000_000_000


def _unknown(interval: str) -> ValueError:
    return ValueError(f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}")


def bucket_start(day: date, interval: str) -> date:
    """The first day of the day, ISO week (Monday) or month that `day` falls in."""
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    raise _unknown(interval)


def next_bucket_start(day: date, interval: str) -> date:
    """The first day of the bucket after the one `day` falls in (where `day`'s bucket ends)."""
    start = bucket_start(day, interval)
    if interval == "month":
        return (start + timedelta(days=31)).replace(day=1)
    return start + timedelta(days=7 if interval == "week" else 1)


def bucket_start_days(days: np.ndarray, interval: str) -> np.ndarray:
    """`bucket_start` of each day, days counted since 1970-01-01 (int64 in, int64 out)."""
    if interval == "day":
        return days
    if interval == "week":
        monday: np.ndarray = days - (days + 3) % 7  # 1970-01-05 was a Monday
        return monday
    if interval == "month":
        months = days.astype("datetime64[D]").astype("datetime64[M]")
        return months.astype("datetime64[D]").astype(np.int64)
    raise _unknown(interval)


def shift_bucket_days(starts: np.ndarray, interval: str, buckets: int) -> np.ndarray:
    """The bucket starts `buckets` buckets after (before, when negative) the bucket starts `starts`
    (days since 1970-01-01)."""
    if interval == "month":
        months = starts.astype("datetime64[D]").astype("datetime64[M]") + buckets
        return months.astype("datetime64[D]").astype(np.int64)
    if interval in ("day", "week"):
        shifted: np.ndarray = starts + buckets * (7 if interval == "week" else 1)
        return shifted
    raise _unknown(interval)


def epoch_days(values: pd.Series) -> np.ndarray:
    """Whole UTC days since 1970-01-01 (int64) of each timestamp (naive values are taken as UTC)."""
    if values.dtype != UTC_NS:
        values = utc(values)
    nanoseconds: np.ndarray = pd.DatetimeIndex(values).asi8
    return nanoseconds // DAY_NS


def epoch_day(value: datetime | pd.Timestamp) -> int:
    """The UTC day of one timestamp, in days since 1970-01-01 (a naive value is taken as UTC)."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:  # as `frames.utc` does
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // DAY_NS)
