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

from app.timelines.buckets import bucket_start
from app.timelines.frames import SUM_COLUMNS, UTC_NS, Interval, require

Z90 = 1.6448536269514722
PRIOR_SD = 0.5
PRIOR_DF = 2.0
_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}
LEVEL_COLUMNS = ["series", "bucket", "count", "weight", "n_eff", "score", "low", "high"]


def _edge(value: datetime | pd.Timestamp | None, interval: Interval) -> pd.Timestamp | None:
    if value is None:
        return None
    return _start_of(value, interval)


def _start_of(value: datetime | pd.Timestamp, interval: Interval) -> pd.Timestamp:
    return pd.Timestamp(bucket_start(pd.Series([pd.Timestamp(value)]), interval).iloc[0])


def bucket_grid(
    start: datetime | pd.Timestamp, end: datetime | pd.Timestamp, interval: Interval
) -> pd.DatetimeIndex:
    """Every bucket start from the bucket of `start` to the bucket of `end`, inclusive."""
    first, last = _start_of(start, interval), _start_of(end, interval)
    return pd.date_range(first, last, freq=_FREQ[interval]).as_unit("ns")


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
    """
    require(sums, SUM_COLUMNS, "bucket sums")
    frame = sums.copy()
    # re-bucketing makes finer sums (e.g. daily) usable for a coarser interval; aligned sums are unchanged
    frame["bucket"] = bucket_start(frame["bucket"], interval)
    first, last = _edge(start, interval), _edge(end, interval)
    if first is not None:
        frame = frame[frame["bucket"] >= first]
    if last is not None:
        frame = frame[frame["bucket"] <= last]
    names = list(dict.fromkeys(series)) if series is not None else sorted(frame["series"].unique())
    lo = first if first is not None else (frame["bucket"].min() if len(frame) else None)
    hi = last if last is not None else (frame["bucket"].max() if len(frame) else None)
    columns = LEVEL_COLUMNS + (["smoothed"] if smooth_halflife is not None else [])
    if lo is None or hi is None or not names or lo > hi:
        return _empty(columns)
    grid = bucket_grid(lo, hi, interval)
    full = pd.MultiIndex.from_product([names, grid], names=["series", "bucket"])
    frame = frame[frame["series"].isin(names)].groupby(["series", "bucket"]).sum(numeric_only=True)
    out = frame.reindex(full, fill_value=0).reset_index()
    out["count"] = out["count"].astype("int64")
    for column in SUM_COLUMNS[3:]:
        out[column] = out[column].astype(float)
    _add_band(out)
    if smooth_halflife is not None:
        out["smoothed"] = _smooth(out, smooth_halflife)
    out["bucket"] = out["bucket"].astype(UTC_NS)
    return out[columns]


def _empty(columns: list[str]) -> pd.DataFrame:
    dtypes: dict[str, Any] = {"series": "object", "bucket": UTC_NS, "count": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in columns})


def _add_band(out: pd.DataFrame) -> None:
    weight = out["weight"]
    has = weight > 0
    mean = (out["weighted_sum"] / weight.where(has)).clip(-1.0, 1.0)
    n_eff = (weight**2 / out["weight_sq"].where(out["weight_sq"] > 0)).where(has)
    s2 = (out["weighted_sq_sum"] / weight.where(has) - mean**2).clip(lower=0.0)
    pooled = (
        pd.DataFrame({"series": out["series"], "ss": (n_eff * s2).fillna(0.0), "df": (n_eff - 1).fillna(0.0)})
        .groupby("series", sort=False)
        .sum()
    )
    v0_by_series = (pooled["ss"] + PRIOR_DF * PRIOR_SD**2) / (pooled["df"].clip(lower=0.0) + PRIOR_DF)
    v0 = out["series"].map(v0_by_series).astype(float)
    var_one = s2 + v0 / n_eff
    se = np.sqrt(var_one / n_eff)
    out["n_eff"] = n_eff.fillna(0.0)
    out["score"] = mean
    out["low"] = (mean - Z90 * se).clip(-1.0, 1.0)
    out["high"] = (mean + Z90 * se).clip(-1.0, 1.0)


def _smooth(out: pd.DataFrame, halflife: float) -> pd.Series:
    if halflife <= 0:
        raise ValueError("smooth_halflife must be positive (in buckets)")
    grouped = out.groupby("series", sort=False)
    num = grouped["weighted_sum"].transform(lambda s: s.ewm(halflife=halflife, adjust=True).mean())
    den = grouped["weight"].transform(lambda s: s.ewm(halflife=halflife, adjust=True).mean())
    return (num / den.where(den > 1e-12)).clip(-1.0, 1.0)


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
