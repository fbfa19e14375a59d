"""Bucket sums -> levels per (series, bucket): weighted mean, 90% band, explicit empty buckets, EWM.

Output columns: series, bucket, count, weight, n_eff, score, low, high and, when asked, smoothed.
Every bucket between the first and last bucket of the window (`start`/`end`, else the first and
last bucket in the sums, shared by all series) is present; an empty one has count 0, weight 0 and
NaN score/low/high (`records()` turns NaN into None).

Uncertainty (90% interval), per bucket with weight W = sum c, mean m = sum c*s / W:
    s2 = sum c*s^2 / W - m^2                 (weighted within-bucket variance)
    n_eff = W^2 / sum c^2                    (Kish's effective number of observations)
    prior variance v0: the series' pooled within-bucket variance, shrunk toward 0.5^2 with two
        pseudo degrees of freedom: v0 = (sum_b n_eff_b * s2_b + 2 * 0.25) / (sum_b (n_eff_b - 1) + 2)
    variance of one observation, shrunk toward v0 with one pseudo degree of freedom:
        v = ((n_eff - 1) * s2 * n_eff / (n_eff - 1) + v0) / n_eff = s2 + v0 / n_eff
    standard error se = sqrt(v / n_eff); band = clip(m -/+ 1.645 * se, -1, 1).
So a bucket with one observation gets m +/- 1.645 * sqrt(v0) (about +/-0.8 with no other
information), two identical observations do not get a zero-width band, and the band narrows as
1/sqrt(n_eff) with more data.

Smoothing (`smooth_halflife`, in buckets): the ratio of exponentially weighted sums
ewm(weighted_sum) / ewm(weight) along the bucket grid, so busy buckets count more, empty buckets
let older ones decay without pulling the level toward 0, and the value carries across gaps.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from app.timelines.frames import INTERVALS, SUM_COLUMNS, UTC_NS, Interval, require
from app.timelines.periods import DAY_NS, bucket_start_days, epoch_day, epoch_days, shift_bucket_days

Z90 = 1.6448536269514722
PRIOR_SD = 0.5
PRIOR_DF = 2.0
LEVEL_COLUMNS = ["series", "bucket", "count", "weight", "n_eff", "score", "low", "high"]


def _grid_days(first: int, last: int, interval: Interval) -> np.ndarray:
    """Every bucket's first day from the bucket starting on day `first` to the one on `last`."""
    if interval == "month":
        lo, hi = np.array([first, last]).astype("datetime64[D]").astype("datetime64[M]")
        return np.arange(lo, hi + 1).astype("datetime64[D]").astype(np.int64)
    return np.arange(first, last + 1, 7 if interval == "week" else 1, dtype=np.int64)


def bucket_grid(
    start: datetime | pd.Timestamp, end: datetime | pd.Timestamp, interval: Interval
) -> pd.DatetimeIndex:
    """Every bucket start from the bucket of `start` to the bucket of `end`, inclusive."""
    first, last = bucket_start_days(np.array([epoch_day(start), epoch_day(end)]), interval)
    if first > last:
        return pd.DatetimeIndex([], dtype=UTC_NS)
    return pd.DatetimeIndex(_grid_days(int(first), int(last), interval) * DAY_NS, tz="UTC")


# How far back a timeline reaches when the request gives no `from`: about ten years of days or
# weeks, twenty of months, ending with the latest bucket observed. One stray observation dated
# centuries back must not stretch the default view (and its list of empty buckets) with it.
RECENT_BUCKETS: dict[Interval, int] = {"day": 3650, "week": 520, "month": 240}


def recent_start(sums: pd.DataFrame, interval: Interval, buckets: int) -> pd.Timestamp | None:
    """Where a window of at most `buckets` buckets ending with the last bucket in `sums` starts:
    at the first bucket in `sums` inside that reach. None when every bucket in `sums` is inside it
    (or there is none). `sums` may be finer than `interval` (day sums for a week timeline)."""
    if not len(sums) or buckets < 1:
        return None
    days = bucket_start_days(epoch_days(sums["bucket"]), interval)
    reach = int(shift_bucket_days(np.array([days.max()]), interval, -(buckets - 1))[0])
    if int(days.min()) >= reach:
        return None
    return pd.Timestamp(int(days[days >= reach].min()) * DAY_NS, tz="UTC")


def bucket_end(start: datetime | pd.Timestamp, interval: Interval) -> pd.Timestamp:
    """The instant the bucket holding `start` ends (the start of the next one)."""
    first = bucket_start_days(np.array([epoch_day(start)]), interval)
    return pd.Timestamp(int(shift_bucket_days(first, interval, 1)[0]) * DAY_NS, tz="UTC")


def levels(
    sums: pd.DataFrame,
    interval: Interval,
    start: datetime | pd.Timestamp | None = None,
    end: datetime | pd.Timestamp | None = None,
    smooth_halflife: float | None = None,
    series: list[str] | None = None,
) -> pd.DataFrame:
    """Levels of every series in `series` (default: those in `sums`, sorted) on one shared grid.

    `start`/`end` bound the window (sums outside it are dropped); without them the grid spans the
    first to the last bucket present. Sums at a finer interval are re-bucketed (day sums can feed
    week or month levels exactly). Ordered by series (in the given order), then bucket.

    Computed on numpy arrays (one series x bucket matrix per sum): a timeline request spends
    well under a millisecond here rather than tens of them in pandas bookkeeping.
    """
    require(sums, SUM_COLUMNS, "bucket sums")
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}")
    columns = LEVEL_COLUMNS + (["smoothed"] if smooth_halflife is not None else [])
    # re-bucketing makes finer sums (e.g. daily) usable for a coarser interval; aligned sums are unchanged
    days = (
        bucket_start_days(epoch_days(sums["bucket"]), interval) if len(sums) else np.zeros(0, dtype=np.int64)
    )
    first = None if start is None else int(bucket_start_days(np.array([epoch_day(start)]), interval)[0])
    last = None if end is None else int(bucket_start_days(np.array([epoch_day(end)]), interval)[0])
    inside = np.ones(len(days), dtype=bool)
    if first is not None:
        inside &= days >= first
    if last is not None:
        inside &= days <= last
    labels = sums["series"].to_numpy()[inside]
    days = days[inside]
    names = list(dict.fromkeys(series)) if series is not None else sorted(pd.unique(labels))
    lo = first if first is not None else (int(days.min()) if len(days) else None)
    hi = last if last is not None else (int(days.max()) if len(days) else None)
    if lo is None or hi is None or not names or lo > hi:
        return _empty(columns)
    grid = _grid_days(lo, hi, interval)
    rows, width = len(names), len(grid)
    codes = pd.Categorical(labels, categories=names).codes.astype(np.int64)
    known = codes >= 0
    cell = codes[known] * width + np.searchsorted(grid, days[known])
    totals = {
        name: np.bincount(
            cell, weights=sums[name].to_numpy(dtype=float)[inside][known], minlength=rows * width
        ).astype(float)
        for name in SUM_COLUMNS[2:]
    }
    band = _band({k: v.reshape(rows, width) for k, v in totals.items()})
    out = {
        "series": pd.Series(np.repeat(np.array(names, dtype=object), width), dtype=object),
        "bucket": pd.DatetimeIndex(np.tile(grid * DAY_NS, rows), tz="UTC").astype(UTC_NS),
        "count": np.rint(totals["count"]).astype(np.int64),
        "weight": totals["weight"],
        **{k: v.ravel() for k, v in band.items()},
    }
    if smooth_halflife is not None:
        out["smoothed"] = _smooth(
            totals["weighted_sum"].reshape(rows, width),
            totals["weight"].reshape(rows, width),
            smooth_halflife,
        ).ravel()
    return pd.DataFrame({name: out[name] for name in columns})


def _empty(columns: list[str]) -> pd.DataFrame:
    dtypes: dict[str, Any] = {"series": "object", "bucket": UTC_NS, "count": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in columns})


def _band(sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """n_eff, score, low, high per cell of (series x bucket) sum matrices; NaN where a bucket is empty."""
    weight, weight_sq = sums["weight"], sums["weight_sq"]
    has = weight > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        per_weight = np.where(has, weight, np.nan)
        mean = np.clip(sums["weighted_sum"] / per_weight, -1.0, 1.0)
        n_eff = np.where(
            has & (weight_sq > 0), weight**2 / np.where(weight_sq > 0, weight_sq, np.nan), np.nan
        )
        s2 = np.clip(sums["weighted_sq_sum"] / per_weight - mean**2, 0.0, None)
        pooled_ss = np.nansum(n_eff * s2, axis=1, keepdims=True)
        pooled_df = np.nansum(n_eff - 1, axis=1, keepdims=True)
        v0 = (pooled_ss + PRIOR_DF * PRIOR_SD**2) / (np.clip(pooled_df, 0.0, None) + PRIOR_DF)
        var_one = s2 + v0 / n_eff
        se = np.sqrt(var_one / n_eff)
    return {
        "n_eff": np.nan_to_num(n_eff, nan=0.0),
        "score": mean,
        "low": np.clip(mean - Z90 * se, -1.0, 1.0),
        "high": np.clip(mean + Z90 * se, -1.0, 1.0),
    }


def _smooth(weighted_sum: np.ndarray, weight: np.ndarray, halflife: float) -> np.ndarray:
    """ewm(weighted_sum) / ewm(weight) along each row (pandas' adjusted EWM, one column per series)."""
    if halflife <= 0:
        raise ValueError("smooth_halflife must be positive (in buckets)")
    num, den = (
        pd.DataFrame(x.T).ewm(halflife=halflife, adjust=True).mean().to_numpy().T
        for x in (weighted_sum, weight)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(den > 1e-12, num / den, np.nan), -1.0, 1.0)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NaN -> None, buckets as timezone-aware datetimes, counts as int."""
    out: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        item: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                item[str(key)] = value.to_pydatetime()
            elif isinstance(value, float) and math.isnan(value):
                item[str(key)] = None
            else:
                item[str(key)] = value
        out.append(item)
    return out
