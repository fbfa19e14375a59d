"""Stated shifts: a sentence that says the position changed anchors a shift when the series (or
the sentence) shows where the actor came from."""

from __future__ import annotations

import pandas as pd

from app.timelines.shifts import detect_shifts
from tests.unit.timelines.synthetic import START, coded_rows

REVERSAL = "The harbour board reversed course and now backs the Kessling bridge toll."


def _series(
    points: list[tuple[int, float]],
    *,
    cues: dict[int, str] | None = None,
    voices: list[str] | None = None,
    stated_from: dict[int, float] | None = None,
    series: str = "harbour-board",
) -> pd.DataFrame:
    return coded_rows(points, series=series, voices=voices, cues=cues, stated_from=stated_from)


def test_a_reported_change_after_an_opposite_coding_is_a_stated_shift() -> None:
    rows = _series([(0, -1.0), (10, -0.5), (20, 1.0)], cues={2: REVERSAL})
    [shift] = detect_shifts(rows)
    assert shift.basis[0] == "stated"
    assert shift.direction == "toward_support"
    assert shift.window_start == (START + pd.Timedelta(days=10)).to_pydatetime()
    assert shift.at == (START + pd.Timedelta(days=20)).to_pydatetime()
    assert shift.cue_ids == [3]
    assert REVERSAL in shift.reasons[0]


def test_a_reported_change_with_nothing_before_it_places_no_shift() -> None:
    assert detect_shifts(_series([(0, 1.0), (5, 1.0)], cues={0: REVERSAL})) == []


def test_the_sentence_can_state_the_earlier_position_itself() -> None:
    rows = _series(
        [(0, 0.5)], cues={0: "The union dropped its opposition to the pay deal."}, stated_from={0: -1.0}
    )
    [shift] = detect_shifts(rows)
    assert shift.basis == ["stated"]
    assert (shift.before, shift.after, shift.n_before) == (-1.0, 0.5, 0)
    assert "states the earlier position, -1.00" in shift.reasons[0]


def test_a_reported_change_at_the_level_already_held_is_not_visible() -> None:
    assert detect_shifts(_series([(0, 1.0), (10, 0.5), (20, 1.0)], cues={2: REVERSAL})) == []


def test_the_same_voice_back_at_the_old_level_unsays_the_change() -> None:
    points = [(0, -1.0), (10, 1.0), (20, -1.0)]
    assert detect_shifts(_series(points, cues={1: REVERSAL})) == []
    # a member's later view is not the bloc's own word
    members = ["harbour-board", "harbour-board", "pilots-guild"]
    [shift] = detect_shifts(_series(points, cues={1: REVERSAL}, voices=members))
    assert shift.direction == "toward_support"


def test_a_reported_change_back_keeps_both_shifts() -> None:
    rows = _series(
        [(0, -1.0), (40, 1.0), (90, -1.0)], cues={1: REVERSAL, 2: "The board reversed itself again."}
    )
    assert [s.direction for s in detect_shifts(rows)] == ["toward_support", "toward_oppose"]
