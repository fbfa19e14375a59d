"""One series prepared for shift detection, and the shift records every detector returns.

A series is the observations that count for one actor on one topic (its own and, in a roll-up,
its members'), ordered by observed_at, id. Detectors work on `Prepared`: scores, precision
weights, day numbers and the shift cues (observations whose sentence reports a change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.timelines.frames import require, utc

Direction = Literal["toward_support", "toward_oppose"]
# strongest grade first: a sentence that reports the change, a change-point test on a dense series,
# a move across the scale between few observations; an office change explains a state's move
Basis = Literal["stated", "statistical", "observed", "office_change"]
BASIS_ORDER: tuple[Basis, ...] = ("stated", "statistical", "observed", "office_change")
FloatArray = npt.NDArray[np.float64]

MAX_EVIDENCE = 5
WEIGHT_FLOOR = 0.05
ROW_COLUMNS = ["id", "observed_at", "score", "confidence", "shift"]


@dataclass(frozen=True)
class OfficeChange:
    """The series is a state (or body) whose level moved when the person holding office changed."""

    before: list[str]  # member slugs whose observations make the level before
    after: list[str]
    at: datetime  # the day the new office holder's membership began (or the old one's ended)


@dataclass(frozen=True)
class Shift:
    """A change of level between the observations up to `window_start` and those from `window_end`.

    `at` is the date of the first observation at the new level; the change happened after
    `window_start` and by `window_end`. `before`/`after` are confidence-weighted means of the
    observations on each side. `basis` lists every kind of evidence for the change, strongest
    first (`basis[0]` is its grade); `reasons` says in words why it is called, one line per basis.
    `confidence` is the probability that the position changed in this direction within the window
    (see `app.timelines.shifts`). Evidence lists are observation ids, strongest first; cue ids lead
    `evidence_after`.
    """

    series: str
    at: datetime
    window_start: datetime
    window_end: datetime
    before: float
    after: float
    delta: float
    direction: Direction
    confidence: float
    n_before: int
    n_after: int
    basis: list[Basis]
    evidence_before: list[int] = field(default_factory=list)
    evidence_after: list[int] = field(default_factory=list)
    cue_ids: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    office_change: OfficeChange | None = None


@dataclass(frozen=True)
class Prepared:
    series: str
    ids: npt.NDArray[np.int64]
    actors: list[str]
    times: pd.DatetimeIndex
    days: npt.NDArray[np.int64]
    y: FloatArray
    confidence: FloatArray
    w: FloatArray  # precision weights: confidence floored at WEIGHT_FLOOR, rescaled to mean 1
    cue_rows: list[int]
    cue_strength: FloatArray  # q per observation (0 when not a cue)
    stated_from: FloatArray  # the earlier score a cue's sentence states (NaN when it states none)
    sentences: list[str | None]
    automatic: npt.NDArray[np.bool_]  # coded by the extractor and not reviewed

    def __len__(self) -> int:
        return len(self.y)

    def date(self, row: int) -> datetime:
        return self.times[row].to_pydatetime()


def prepare(rows: pd.DataFrame, series: str | None, cue_weight: float) -> Prepared:
    """`rows` of one series as arrays. A cue counts with strength cue_weight x its confidence,
    halved when a member rather than the series' own actor says it."""
    require(rows, ROW_COLUMNS, "observation rows")
    scores = _floats(rows, "score", np.nan)
    observed = utc(rows["observed_at"]).to_numpy(dtype="datetime64[ns]")
    ids = rows["id"].to_numpy(dtype=np.int64)
    keep = np.flatnonzero(~np.isnan(scores))
    order = keep[np.lexsort((ids[keep], observed[keep]))]
    name = series
    if name is None:
        key = "series" if "series" in rows.columns else "actor"
        name = str(rows[key].iloc[order[0]]) if len(order) else ""
    all_actors = rows["actor"].astype(str).to_numpy() if "actor" in rows.columns else None
    actors = [str(a) for a in all_actors[order]] if all_actors is not None else [name] * len(order)
    confidence = np.clip(np.nan_to_num(_floats(rows, "confidence", 0.0)[order]), 0.0, 1.0)
    w = np.clip(confidence, WEIGHT_FLOOR, 1.0)
    if len(w):
        w = w / w.mean()
    is_cue = _flags(rows, "shift")[order]
    direct = np.array([actor == name for actor in actors], dtype=np.bool_)
    strength = np.where(is_cue, cue_weight * confidence * np.where(direct, 1.0, 0.5), 0.0)
    stamps = observed[order]
    stated = _floats(rows, "shift_from", np.nan)[order]
    evidence_column = rows["evidence"].to_numpy(dtype=object)[order] if "evidence" in rows.columns else None
    return Prepared(
        series=name,
        ids=ids[order],
        actors=actors,
        times=pd.DatetimeIndex(stamps, tz="UTC"),
        days=stamps.astype("datetime64[D]").astype(np.int64),
        y=np.clip(scores[order], -1.0, 1.0),
        confidence=confidence,
        w=w,
        cue_rows=[int(i) for i in np.flatnonzero(is_cue)],
        cue_strength=np.asarray(strength, dtype=np.float64),
        stated_from=np.where(is_cue, np.clip(stated, -1.0, 1.0), np.nan),
        sentences=[_text(v) for v in evidence_column] if evidence_column is not None else [None] * len(order),
        automatic=_flags(rows, "automatic")[order],
    )


def _floats(frame: pd.DataFrame, column: str, default: float) -> FloatArray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=np.float64)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(values), default, values) if not np.isnan(default) else values


def _flags(frame: pd.DataFrame, column: str) -> npt.NDArray[np.bool_]:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=np.bool_)
    return np.array([bool(v) and v == v for v in frame[column].to_numpy(dtype=object)], dtype=np.bool_)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def side_mean(data: Prepared, lo: int, hi: int) -> float:
    """Confidence-weighted mean score of rows [lo, hi)."""
    return float(np.average(data.y[lo:hi], weights=data.w[lo:hi]))


def evidence(
    data: Prepared, lo: int, hi: int, *, own: float, other: float, near: int, lead: list[int]
) -> list[int]:
    """Ids in [lo, hi) on `own`'s side of the midpoint between the levels, strongest first.

    Strength = weight x distance beyond the midpoint; ties go to the observation nearest `near`
    (the change). `lead` rows (the cues) come first.
    """
    mid = (own + other) / 2.0
    side = np.sign(own - other)
    rows = np.arange(lo, hi)
    keep = rows[(data.y[rows] - mid) * side > 0]
    strength = np.round((data.y[keep] - mid) * side * data.w[keep], 9)
    order = np.lexsort((np.abs(keep - near), -strength))
    leading = set(lead)
    ranked = [int(data.ids[r]) for r in lead]
    ranked += [int(data.ids[keep[i]]) for i in order if int(keep[i]) not in leading]
    return ranked[:MAX_EVIDENCE]


def direction_of(delta: float) -> Direction:
    return "toward_support" if delta > 0 else "toward_oppose"


def shift_between(
    data: Prepared,
    before: tuple[int, int],
    after: tuple[int, int],
    levels: tuple[float, float],
    *,
    window: tuple[int, int],
    confidence: float,
    basis: list[Basis],
    reasons: list[str],
    cues: list[int] | None = None,
    told_from: float | None = None,
) -> Shift:
    """The shift from rows [before) at level `levels[0]` to rows [after) at `levels[1]`, dated at
    the first row after; `window` holds the rows that bound when it happened.

    The detectors differ in how they find the sides and weigh the change, not in how they report
    it: the same rounding, counts and evidence for every basis keeps merged findings comparable.
    `cues` (strongest first) lead the evidence after. Evidence before is told apart from the new
    level, or from `told_from` where the detector drew the old side against another level.
    """
    old, new = levels
    lead = cues or []
    return Shift(
        series=data.series,
        at=data.date(after[0]),
        window_start=data.date(window[0]),
        window_end=data.date(window[1]),
        before=round(old, 6),
        after=round(new, 6),
        delta=round(new - old, 6),
        direction=direction_of(new - old),
        confidence=round(confidence, 6),
        n_before=before[1] - before[0],
        n_after=after[1] - after[0],
        basis=basis,
        evidence_before=evidence(
            data, *before, own=old, other=new if told_from is None else told_from, near=before[1] - 1, lead=[]
        ),
        evidence_after=evidence(data, *after, own=new, other=old, near=after[0], lead=lead),
        cue_ids=[int(data.ids[row]) for row in lead],
        reasons=reasons,
    )


def stated_reason(data: Prepared, cue_rows: list[int]) -> str:
    """Why a cue counts: who reported the change, when, in which words."""
    row = cue_rows[0]
    who = data.actors[row] if data.actors[row] == data.series else f"{data.actors[row]} (member)"
    sentence = data.sentences[row]
    quoted = f': "{_clip(sentence)}"' if sentence else ""
    more = f" (and {len(cue_rows) - 1} more)" if len(cue_rows) > 1 else ""
    return f"A sentence reports the change of {who} on {data.date(row):%Y-%m-%d}{more}{quoted}"


def moved_reason(before: float, n_before: int, after: float, n_after: int) -> str:
    return (
        f"Coded positions moved from {before:+.2f} ({_count(n_before)}) to {after:+.2f} ({_count(n_after)})"
    )


def _count(n: int) -> str:
    return f"{n} observation" + ("" if n == 1 else "s")


def _clip(sentence: str, limit: int = 240) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."
