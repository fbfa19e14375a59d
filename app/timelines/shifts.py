"""Shifts: changes in an actor's level on a topic, each with its basis and the reason it is called.

Input: attributed observation rows (see `app.timelines.frames`) of one series for
`detect_shifts`, or of several (column `series`) for `detect_all` / `scan_all`. Rows without a
`series` column count for their own `actor`. An optional `shift_from` column gives the earlier
score a cue's sentence states ("dropped its opposition": -1).

Sparse data is the normal case: an actor's position is reported a handful of times. Three
detectors look at every series and their findings are merged:

* stated (`app.timelines.stated`): a sentence reports the change, and the series (or the sentence)
  shows where the actor came from;
* statistical (`app.timelines.changepoints`): change points on dense series, at least
  `min_per_side` observations a side, 95% confidence after paying for the search;
* observed (`app.timelines.sparse`): a hidden-level model in which coded positions crossing the
  scale between few confident observations are a change unless coding noise explains them.

Findings of the same direction whose windows overlap (within `MERGE_DAYS`) are one shift: its
basis lists every detector that found it (strongest grade first: stated, statistical, observed),
its reasons one line each, its confidence the highest of theirs. Each confidence is the
probability that the position changed in this direction within the window: the sparse model's
posterior, or 1 - p of the change-point test, combined with each cue by noisy-or (cue weight x cue
confidence, halved for a member's cue). Given the memberships, a roll-up shift explained by a
change of office holder gains the basis "office_change" (`app.timelines.office`).

A stable actor gets an empty list; `scan_all` states it as verdict "stable" (enough data to see a
shift) or "insufficient_data".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Literal, TypedDict, Unpack

import numpy as np
import pandas as pd

from app.timelines import changepoints, office, sparse, stated
from app.timelines.changepoints import MIN_CONFIDENCE, MIN_DELTA, MIN_PER_SIDE, PENALTY_FACTOR
from app.timelines.frames import require
from app.timelines.series import (
    BASIS_ORDER,
    ROW_COLUMNS,
    Basis,
    Direction,
    OfficeChange,
    Prepared,
    Shift,
    prepare,
)

__all__ = [
    "Basis",
    "Direction",
    "OfficeChange",
    "SeriesScan",
    "Shift",
    "Tuning",
    "detect_all",
    "detect_shifts",
    "scan_all",
]

Verdict = Literal["shifted", "stable", "insufficient_data"]
CUE_WEIGHT = 0.7
MERGE_DAYS = 7


class Tuning(TypedDict, total=False):
    """The keyword arguments that tune every entry point; one left out keeps its default.

    `min_delta`, `min_per_side`, `min_confidence` and `penalty_factor` tune the change-point test
    (`app.timelines.changepoints`); `cue_weight` is how much a cue's sentence counts.
    """

    min_delta: float
    min_per_side: int
    min_confidence: float
    cue_weight: float
    penalty_factor: float


@dataclass(frozen=True)
class _Parameters:
    """`Tuning` with every default filled in; building it rejects a misspelt keyword."""

    min_delta: float = MIN_DELTA
    min_per_side: int = MIN_PER_SIDE
    min_confidence: float = MIN_CONFIDENCE
    cue_weight: float = CUE_WEIGHT
    penalty_factor: float = PENALTY_FACTOR


@dataclass(frozen=True)
class SeriesScan:
    """The shift verdict for one series: its shifts, or a clear "stable" / "insufficient_data"."""

    series: str
    n: int
    level: float | None
    spread: float | None
    verdict: Verdict
    shifts: list[Shift] = field(default_factory=list)


def _overlaps(a: Shift, b: Shift) -> bool:
    slack = timedelta(days=MERGE_DAYS)
    return (
        a.direction == b.direction
        and a.window_start - slack <= b.window_end
        and b.window_start - slack <= a.window_end
    )


def _rank(shift: Shift) -> tuple[int, float]:
    return BASIS_ORDER.index(shift.basis[0]), -shift.confidence


def _merge(found: Iterable[Shift]) -> list[Shift]:
    merged: list[Shift] = []
    for item in sorted(found, key=_rank):
        index = next((i for i, kept in enumerate(merged) if _overlaps(kept, item)), None)
        if index is None:
            merged.append(item)
            continue
        kept = merged[index]
        # one reason per basis, each from the strongest finding that has it
        reasons = dict(zip(item.basis, item.reasons, strict=True)) | dict(
            zip(kept.basis, kept.reasons, strict=True)
        )
        basis = [b for b in BASIS_ORDER if b in reasons]
        merged[index] = replace(
            kept,
            basis=basis,
            confidence=max(kept.confidence, item.confidence),
            reasons=[reasons[b] for b in basis],
            cue_ids=[*kept.cue_ids, *(i for i in item.cue_ids if i not in kept.cue_ids)],
        )
    return sorted(merged, key=lambda s: (s.at, s.direction))


def _detect(data: Prepared, memberships: pd.DataFrame | None, parameters: _Parameters) -> list[Shift]:
    if not len(data):
        return []
    model = sparse.fit(data)
    observed = sparse.detect(data, model)
    found = [
        *stated.detect(data, model),
        *changepoints.detect(
            data,
            min_delta=parameters.min_delta,
            min_per_side=parameters.min_per_side,
            min_confidence=parameters.min_confidence,
            penalty_factor=parameters.penalty_factor,
        ),
        *(shift for shift, moved in observed if moved),
    ]
    turns = [shift for shift, moved in observed if not moved]
    if memberships is not None:
        # speakers taking turns is a change only when a new office holder speaks
        turns = [s for s in office.annotate(turns, data, memberships) if s.office_change is not None]
        merged = office.annotate(_merge([*found, *turns]), data, memberships)
    else:
        merged = _merge(found)
    return merged


def detect_shifts(
    rows: pd.DataFrame,
    *,
    series: str | None = None,
    memberships: pd.DataFrame | None = None,
    **tuning: Unpack[Tuning],
) -> list[Shift]:
    """Shifts of one series, in date order. `rows`: observation rows of that series only.

    `series` names it (default: the rows' `series`, else `actor`); cues by another actor (a member in
    a roll-up) count half. `tuning`: see `Tuning`. Returns [] for a stable series or too few
    observations.
    """
    parameters = _Parameters(**tuning)
    return _detect(prepare(rows, series, parameters.cue_weight), memberships, parameters)


def _groups(rows: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame]]:
    key = "series" if "series" in rows.columns else "actor"
    for name, group in rows.groupby(key, sort=True):
        yield str(name), group


def detect_all(
    rows: pd.DataFrame, *, memberships: pd.DataFrame | None = None, **tuning: Unpack[Tuning]
) -> list[Shift]:
    """Shifts of every series in `rows` (column `series`, else `actor`), strongest first:
    by confidence, then |delta|, then date."""
    found = [shift for scan in scan_all(rows, memberships=memberships, **tuning) for shift in scan.shifts]
    return sorted(found, key=lambda s: (-s.confidence, -abs(s.delta), s.at, s.series))


def scan_all(
    rows: pd.DataFrame, *, memberships: pd.DataFrame | None = None, **tuning: Unpack[Tuning]
) -> list[SeriesScan]:
    """One verdict per series, in series order: "shifted" (with its shifts in date order),
    "stable" (at least 2 x min_per_side observations and no shift) or "insufficient_data"."""
    parameters = _Parameters(**tuning)
    require(rows, ROW_COLUMNS, "observation rows")
    out: list[SeriesScan] = []
    for name, group in _groups(rows):
        data = prepare(group, name, parameters.cue_weight)
        found = _detect(data, memberships, parameters)
        n = len(data)
        level = spread = None
        if n:
            level = round(float(np.average(data.y, weights=data.w)), 6)
            spread = round(float(np.sqrt(np.average((data.y - level) ** 2, weights=data.w))), 6)
        enough = n >= 2 * parameters.min_per_side
        verdict: Verdict = "shifted" if found else "stable" if enough else "insufficient_data"
        out.append(SeriesScan(series=name, n=n, level=level, spread=spread, verdict=verdict, shifts=found))
    return out
