from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from app.timelines.levels import levels, records
from tests.unit.timelines.buckets import bucket_sums


def _rows(items: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(1, len(items) + 1),
            "series": [s for s, _, _, _ in items],
            "actor": [s for s, _, _, _ in items],
            "observed_at": pd.to_datetime([d for _, d, _, _ in items], utc=True),
            "score": [x for _, _, x, _ in items],
            "confidence": [c for _, _, _, c in items],
            "shift": False,
        }
    )


def test_bucket_sums_week_month_day() -> None:
    rows = _rows([("a", "2025-03-02T23:00:00Z", 1.0, 0.5), ("a", "2025-03-03T01:00:00Z", -1.0, 1.0)])
    week = bucket_sums(rows, "week")
    assert week["bucket"].tolist() == [
        pd.Timestamp("2025-02-24", tz="UTC"),
        pd.Timestamp("2025-03-03", tz="UTC"),
    ]
    month = bucket_sums(rows, "month")
    assert month.to_dict("records") == [
        {
            "series": "a",
            "bucket": pd.Timestamp("2025-03-01", tz="UTC"),
            "count": 2,
            "weight": 1.5,
            "weighted_sum": -0.5,
            "weight_sq": 1.25,
            "weighted_sq_sum": 1.5,
        }
    ]
    assert str(month["bucket"].dtype) == "datetime64[ns, UTC]"
    assert len(bucket_sums(rows, "day")) == 2


def test_empty_buckets_are_explicit_inside_the_window() -> None:
    rows = _rows(
        [("a", "2025-03-03", 1.0, 1.0), ("a", "2025-03-24", -1.0, 1.0), ("b", "2025-03-10", 0.0, 1.0)]
    )
    out = levels(bucket_sums(rows, "week"), "week", start=pd.Timestamp("2025-02-26", tz="UTC"), end=None)
    a = out[out["series"] == "a"]
    assert a["bucket"].dt.strftime("%m-%d").tolist() == ["02-24", "03-03", "03-10", "03-17", "03-24"]
    assert a["count"].tolist() == [0, 1, 0, 0, 1]
    assert a["score"].isna().tolist() == [True, False, True, True, False]
    b = out[out["series"] == "b"]
    assert len(b) == 5  # same grid for every series
    assert records(a)[0]["score"] is None


def test_series_without_data_get_an_empty_row_per_bucket() -> None:
    rows = _rows([("a", "2025-03-03", 1.0, 1.0), ("a", "2025-03-10", 1.0, 1.0)])
    out = levels(bucket_sums(rows, "week"), "week", series=["a", "z"])
    assert out.loc[out["series"] == "z", "count"].tolist() == [0, 0]


def test_band_contains_the_mean_and_narrows_with_more_data() -> None:
    rng = np.random.default_rng(3)
    small = [("a", "2025-03-03", float(x), 0.8) for x in np.clip(rng.normal(0.2, 0.4, 4), -1, 1)]
    large = [("b", "2025-03-03", float(x), 0.8) for x in np.clip(rng.normal(0.2, 0.4, 40), -1, 1)]
    out = levels(bucket_sums(_rows(small + large), "week"), "week").set_index("series")
    for name in ("a", "b"):
        assert out.loc[name, "low"] <= out.loc[name, "score"] <= out.loc[name, "high"]
    width = out["high"] - out["low"]
    assert width["b"] < width["a"] / 2
    assert out.loc["b", "n_eff"] == pytest.approx(40.0)


def test_single_observation_gets_a_wide_but_finite_band() -> None:
    out = levels(bucket_sums(_rows([("a", "2025-03-03", 0.0, 1.0)]), "week"), "week")
    row = out.iloc[0]
    assert row["low"] == pytest.approx(-1.645 * 0.5, abs=1e-3)
    assert row["high"] == pytest.approx(1.645 * 0.5, abs=1e-3)


def test_band_is_clipped_to_the_score_range() -> None:
    out = levels(bucket_sums(_rows([("a", "2025-03-03", 1.0, 1.0)]), "week"), "week")
    assert out.iloc[0]["high"] == 1.0
    assert out.iloc[0]["score"] == 1.0


def test_ewm_is_the_ratio_of_exponentially_weighted_sums() -> None:
    rows = _rows([("a", "2025-03-03", 1.0, 1.0), ("a", "2025-03-17", -1.0, 0.5)])
    out = levels(bucket_sums(rows, "week"), "week", smooth_halflife=1.0)
    # weights along the grid (newest first): 1, 0.5, 0.25
    assert out["smoothed"].tolist()[:2] == [1.0, 1.0]  # the empty bucket carries the level
    expected = (0.25 * 1.0 + 1.0 * (-0.5)) / (0.25 * 1.0 + 1.0 * 0.5)
    assert out["smoothed"].iloc[2] == pytest.approx(expected)
    assert math.isnan(out["score"].iloc[1])


def test_daily_sums_feed_monthly_levels() -> None:
    rows = _rows([("a", "2025-03-03", 1.0, 1.0), ("a", "2025-03-30", 0.0, 1.0)])
    out = levels(bucket_sums(rows, "day"), "month")
    assert out["count"].tolist() == [2]
    assert out["score"].tolist() == [0.5]
