"""Bucket sums from attributed observation rows: the pandas twin of the SQL in `app.store`.

`bucket_sums(rows, interval)` returns the bucket-sums contract (see `app.timelines.frames`): per
(series, bucket) count, weight = sum(confidence), weighted_sum = sum(confidence * score),
weight_sq = sum(confidence^2), weighted_sq_sum = sum(confidence * score^2). Buckets start at UTC
midnight of the day, the ISO-week Monday, or the first of the month.
"""

from __future__ import annotations

import pandas as pd

from app.timelines.frames import INTERVALS, SUM_COLUMNS, UTC_NS, Interval, empty_sums, require, utc


def bucket_start(values: pd.Series, interval: Interval) -> pd.Series:
    """The UTC start of the day, ISO week (Monday) or month of each timestamp."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}")
    day: pd.Series = utc(values).dt.floor("D")
    if interval == "day":
        return day
    offset: pd.Series = day.dt.day_of_week if interval == "week" else day.dt.day - 1
    start: pd.Series = day - pd.to_timedelta(offset, unit="D")
    return start.astype(UTC_NS)


def bucket_sums(rows: pd.DataFrame, interval: Interval) -> pd.DataFrame:
    """Sums per (series, bucket), ordered by series then bucket. Rows without `series` count for
    their own `actor`."""
    require(rows, ["observed_at", "score", "confidence"], "observation rows")
    if rows.empty:
        return empty_sums()
    key = rows["series"] if "series" in rows.columns else rows["actor"]
    c = rows["confidence"].astype(float)
    s = rows["score"].astype(float)
    frame = pd.DataFrame(
        {
            "series": key.astype(str),
            "bucket": bucket_start(rows["observed_at"], interval),
            "count": 1,
            "weight": c,
            "weighted_sum": c * s,
            "weight_sq": c * c,
            "weighted_sq_sum": c * s * s,
        }
    )
    sums = frame.groupby(["series", "bucket"], sort=True, as_index=False).sum()
    sums["count"] = sums["count"].astype("int64")
    sums["bucket"] = sums["bucket"].astype(UTC_NS)
    return sums[SUM_COLUMNS].reset_index(drop=True)
