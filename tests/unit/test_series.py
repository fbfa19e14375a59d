from __future__ import annotations

import pandas as pd
import pytest

from app.timelines.series import tidy_frame, to_series, weighted_levels


def _buckets(rows: list[tuple[str, str, float, float, float, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["actor", "bucket", "weighted_sum", "weight", "score_sum", "count"])
    frame["name"] = frame["actor"].str.title()
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    return frame


def test_weighted_mean_falls_back_to_plain_mean_when_weights_are_zero() -> None:
    levels = weighted_levels(
        _buckets([("a", "2025-03-03", 0.5, 1.0, 0.5, 1), ("a", "2025-03-10", 0.0, 0.0, -1.0, 2)])
    )
    assert levels["score"].tolist() == pytest.approx([0.5, -0.5])


def test_series_keep_requested_order_and_empty_actors() -> None:
    series = to_series(_buckets([("b", "2025-03-03", -1.0, 1.0, -1.0, 1)]), [("a", "A"), ("b", "B")])
    assert [(s.actor, len(s.points)) for s in series] == [("a", 0), ("b", 1)]
    assert series[1].points[0].bucket.isoformat() == "2025-03-03T00:00:00+00:00"


def test_tidy_frame_has_iso_utc_buckets() -> None:
    series = to_series(_buckets([("b", "2025-03-03", -1.0, 1.0, -1.0, 1)]), [("b", "B")])
    frame = tidy_frame(series, "topic")
    assert frame.to_dict("records") == [
        {
            "topic": "topic",
            "actor": "b",
            "bucket": "2025-03-03T00:00:00Z",
            "score": -1.0,
            "count": 1,
            "weight": 1.0,
        }
    ]


def test_empty_input_gives_empty_series() -> None:
    empty = pd.DataFrame(columns=["actor", "name", "bucket", "weighted_sum", "weight", "score_sum", "count"])
    assert to_series(empty, [("a", "A")])[0].points == []
