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


def _memberships(edges: list[tuple[str, str, str | None, str | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "actor": [e[0] for e in edges],
            "parent": [e[1] for e in edges],
            "valid_from": pd.to_datetime([e[2] for e in edges], utc=True),
            "valid_to": pd.to_datetime([e[3] for e in edges], utc=True),
            "parent_kind": [e[4] for e in edges],
        }
    )


def _group_rows(days: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(range(1, len(days) + 1)),
            "actor": "coalition",
            "observed_at": pd.to_datetime(days, utc=True),
            "score": 1.0,
            "confidence": 0.8,
        }
    )


def test_a_group_speaks_for_a_bloc_in_proportion_to_its_members_there() -> None:
    # The coalition forms on 2025-03-02 with two European states; Canada joins on 2025-06-01.
    memberships = _memberships(
        [
            ("france", "europe", None, None, "bloc"),
            ("poland", "europe", None, None, "bloc"),
            ("france", "coalition", "2025-03-02", None, "group"),
            ("poland", "coalition", "2025-03-02", None, "group"),
            ("canada", "coalition", "2025-06-01", None, "group"),
        ]
    )
    rows = _group_rows(["2025-03-01", "2025-03-03", "2025-07-01"])
    out = attribute(rows, memberships, ["europe"], member_weight=0.5)
    # before it has members it speaks for no one; then for Europe fully, then for two thirds of it
    assert dict(zip(out["id"], out["confidence"].round(4), strict=True)) == {
        2: 0.4,
        3: round(0.8 * 0.5 * 2 / 3, 4),
    }
    assert set(out["series"]) == {"europe"}


def test_a_group_mostly_outside_the_bloc_does_not_speak_for_it() -> None:
    memberships = _memberships(
        [
            ("france", "europe", None, None, "bloc"),
            ("france", "g7", None, None, "group"),
            ("japan", "g7", None, None, "group"),
            ("canada", "g7", None, None, "group"),
        ]
    )
    rows = _group_rows(["2025-03-03"]).assign(actor="g7")
    assert attribute(rows, memberships, ["europe"]).empty
    # without parent kinds (an older frame) groups are not recognised at all
    assert attribute(rows, memberships.drop(columns=["parent_kind"]), ["europe"]).empty


def test_a_bloc_inside_a_bloc_rolls_up_by_membership_not_by_share() -> None:
    memberships = _memberships(
        [
            ("france", "europe", None, None, "bloc"),
            ("france", "eu", None, None, "bloc"),
            ("eu", "europe", None, None, "bloc"),
        ]
    )
    rows = _group_rows(["2025-03-03"]).assign(actor="eu")
    out = attribute(rows, memberships, ["europe"], member_weight=0.5)
    assert out[["series", "confidence"]].values.tolist() == [["europe", 0.4]]
