"""Bucket sums from attributed observation rows: the pandas twin of the SQL in `app.store`, which
the tests check the store's sums and timelines against.

`bucket_sums(rows, interval)` returns the bucket-sums contract (see `app.timelines.frames`): per
(series, bucket) count, weight = sum(confidence), weighted_sum = sum(confidence * score),
weight_sq = sum(confidence^2), weighted_sq_sum = sum(confidence * score^2). Buckets start at UTC
midnight of the day, the ISO-week Monday, or the first of the month (`app.timelines.periods`).
"""

from __future__ import annotations

import pandas as pd

from app.timelines import periods
from app.timelines.frames import SUM_COLUMNS, UTC_NS, Interval, empty_sums, require


def bucket_start(values: pd.Series, interval: Interval) -> pd.Series:
    """The UTC start of the day, ISO week (Monday) or month of each timestamp."""
    days = periods.bucket_start_days(periods.epoch_days(values), interval)
    return pd.Series(pd.DatetimeIndex(days * periods.DAY_NS, tz="UTC"), index=values.index).astype(UTC_NS)


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
