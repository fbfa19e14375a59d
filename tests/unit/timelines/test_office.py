"""Office changes: a state's level moves because a different person holds its office."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.timelines.shifts import detect_shifts
from tests.unit.timelines.synthetic import START

HANDOVER = START + pd.Timedelta(days=100)


def _state_series(voices: list[str], scores: list[float], days: list[int]) -> pd.DataFrame:
    n = len(scores)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "series": "varland",
            "actor": voices,
            "observed_at": [START + pd.Timedelta(days=d) for d in days],
            "score": scores,
            "confidence": 0.9,
            "shift": False,
            "evidence": None,
        }
    )


def _memberships(handover: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "actor": ["ola-brenner", "mira-sol"],
            "parent": ["varland", "varland"],
            "valid_from": [pd.Timestamp("2020-01-01", tz="UTC"), handover],
            "valid_to": [handover, pd.NaT],
        }
    ).astype({"valid_from": "datetime64[ns, UTC]", "valid_to": "datetime64[ns, UTC]"})


def test_a_new_chancellor_moving_the_state_is_an_office_change() -> None:
    rows = _state_series(
        ["ola-brenner", "ola-brenner", "mira-sol", "mira-sol"], [-1.0, -1.0, 0.5, 0.5], [10, 60, 130, 160]
    )
    [shift] = detect_shifts(rows, memberships=_memberships(HANDOVER))
    assert shift.direction == "toward_support"
    assert shift.basis == ["observed", "office_change"]
    assert shift.office_change is not None
    assert (shift.office_change.before, shift.office_change.after) == (["ola-brenner"], ["mira-sol"])
    assert shift.office_change.at == HANDOVER.to_pydatetime()
    assert "office holder changed on" in shift.reasons[-1]


def test_two_ministers_disagreeing_in_the_same_government_are_no_shift() -> None:
    # both in office throughout: the state's level only follows who is quoted
    memberships = _memberships(HANDOVER).assign(
        valid_to=pd.NaT, valid_from=pd.Timestamp("2020-01-01", tz="UTC")
    )
    rows = _state_series(
        ["ola-brenner", "ola-brenner", "mira-sol", "mira-sol"], [-1.0, -1.0, 0.5, 0.5], [10, 60, 130, 160]
    )
    assert detect_shifts(rows, memberships=memberships) == []


def test_the_same_office_holder_changing_course_is_not_an_office_change() -> None:
    rows = _state_series(["ola-brenner"] * 4, [-1.0, -1.0, 0.5, 0.5], [10, 30, 60, 80])
    [shift] = detect_shifts(rows, memberships=_memberships(HANDOVER))
    assert shift.office_change is None
    assert "office_change" not in shift.basis
