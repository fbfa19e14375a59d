from __future__ import annotations

import pandas as pd

from app.timelines.rollup import ancestor_paths, attribute


def _ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def _rows(items: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [i for i, _, _ in items],
            "actor": [a for _, a, _ in items],
            "observed_at": pd.to_datetime([d for _, _, d in items], utc=True),
            "score": 0.5,
            "confidence": 1.0,
            "shift": False,
        }
    )


MEMBERSHIPS = pd.DataFrame(
    {
        "actor": ["emmanuel-macron", "france", "united-kingdom", "united-kingdom", "france"],
        "parent": ["france", "europe", "european-union", "europe", "european-union"],
        "valid_from": [_ts("2017-05-14"), pd.NaT, _ts("1973-01-01"), pd.NaT, _ts("1958-01-01")],
        "valid_to": [pd.NaT, pd.NaT, _ts("2020-01-31"), pd.NaT, pd.NaT],
    }
)


def _series_of(frame: pd.DataFrame, obs_id: int) -> set[str]:
    return set(frame.loc[frame["id"] == obs_id, "series"])


def test_person_counts_for_state_only_while_in_office() -> None:
    rows = _rows([(1, "emmanuel-macron", "2017-05-13"), (2, "emmanuel-macron", "2017-05-14")])
    out = attribute(rows, MEMBERSHIPS, ["france", "emmanuel-macron"])
    assert _series_of(out, 1) == {"emmanuel-macron"}
    assert _series_of(out, 2) == {"emmanuel-macron", "france"}


def test_uk_counts_for_eu_until_2020_01_31_exclusive() -> None:
    rows = _rows(
        [
            (1, "united-kingdom", "2020-01-30"),
            (2, "united-kingdom", "2020-01-31"),
            (3, "united-kingdom", "2021-06-01"),
        ]
    )
    out = attribute(rows, MEMBERSHIPS, ["european-union", "europe"])
    assert _series_of(out, 1) == {"european-union", "europe"}
    assert _series_of(out, 2) == {"europe"}
    assert _series_of(out, 3) == {"europe"}


def test_transitive_roll_up_needs_every_link_valid() -> None:
    memberships = pd.concat(
        [
            MEMBERSHIPS,
            pd.DataFrame(
                {
                    "actor": ["france"],
                    "parent": ["bloc"],
                    "valid_from": [_ts("2018-01-01")],
                    "valid_to": [_ts("2019-01-01")],
                }
            ),
        ],
        ignore_index=True,
    )
    rows = _rows(
        [
            (1, "emmanuel-macron", "2016-06-01"),  # not yet president: counts for nothing above him
            (2, "emmanuel-macron", "2018-06-01"),  # both links valid
            (3, "emmanuel-macron", "2019-06-01"),  # France left the bloc
            (4, "france", "2018-06-01"),
        ]
    )
    out = attribute(rows, memberships, ["europe", "bloc", "european-union"])
    assert _series_of(out, 1) == set()
    assert _series_of(out, 2) == {"europe", "bloc", "european-union"}
    assert _series_of(out, 3) == {"europe", "european-union"}
    assert _series_of(out, 4) == {"europe", "bloc", "european-union"}


def test_each_row_counts_once_per_target_even_with_two_paths() -> None:
    memberships = pd.DataFrame(
        {
            "actor": ["pete-hegseth", "pete-hegseth", "us-department-of-defense"],
            "parent": ["united-states", "us-department-of-defense", "united-states"],
            "valid_from": [_ts("2025-01-25"), _ts("2025-01-25"), _ts("1947-09-18")],
            "valid_to": [pd.NaT, pd.NaT, pd.NaT],
        }
    )
    out = attribute(_rows([(1, "pete-hegseth", "2025-03-01")]), memberships, ["united-states"])
    assert out["series"].tolist() == ["united-states"]
    assert out.columns.tolist()[-1] == "series"


def test_ancestor_paths_intersect_intervals_and_survive_cycles() -> None:
    memberships = pd.DataFrame(
        {
            "actor": ["a", "b", "c"],
            "parent": ["b", "c", "a"],
            "valid_from": [_ts("2020-01-01"), _ts("2021-01-01"), pd.NaT],
            "valid_to": [_ts("2023-01-01"), pd.NaT, pd.NaT],
        }
    )
    paths = ancestor_paths(memberships)
    a_to_c = paths[(paths["actor"] == "a") & (paths["ancestor"] == "c")]
    assert a_to_c["valid_from"].tolist() == [_ts("2021-01-01")]
    assert a_to_c["valid_to"].tolist() == [_ts("2023-01-01")]
    assert not ((paths["actor"] == paths["ancestor"]).any())
