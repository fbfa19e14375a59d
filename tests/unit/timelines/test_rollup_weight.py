from __future__ import annotations

import pandas as pd

from app.timelines.rollup import attribute


def test_member_rows_count_at_member_weight_and_own_rows_fully() -> None:
    rows = pd.DataFrame(
        {
            "id": [1, 2],
            "actor": ["france", "europe"],
            "observed_at": pd.to_datetime(["2025-03-03", "2025-03-04"], utc=True),
            "score": [1.0, -0.5],
            "confidence": [0.8, 0.8],
        }
    )
    memberships = pd.DataFrame(
        {"actor": ["france"], "parent": ["europe"], "valid_from": [pd.NaT], "valid_to": [pd.NaT]}
    )
    out = attribute(rows, memberships, ["europe"], member_weight=0.5)
    assert dict(zip(out["actor"], out["confidence"], strict=True)) == {"france": 0.4, "europe": 0.8}
    assert attribute(rows, memberships, ["europe"])["confidence"].tolist() == [0.8, 0.8]
