"""Shifts: detected changes in an actor's level on a topic, with the observations that show them.

Input: attributed observation rows (see `app.timelines.frames`) of one series for
`detect_shifts`, or of several (column `series`) for `detect_all` / `scan_all`. Rows without a
`series` column count for their own `actor`.

Method (per series, observations ordered by observed_at, id):

1. Scores y, weights w = confidence (floored at 0.05, rescaled to mean 1) used as precision
   weights: var(y_i) = sigma^2 / w_i.
2. Candidate change points: ruptures `KernelCPD(kernel="linear", min_size=min_per_side)` with a
   deliberately liberal penalty `penalty_factor * s^2 * ln n` (default factor 2, half of the usual
   4 s^2 ln n), s = max(MAD of first differences / (0.6745 sqrt 2), 0.5 * RMS of differences / sqrt 2,
   0.05). Plus one candidate per explicit shift cue (observation with shift=True): the split just
   before the first observation dated at or after the cue.
3. Each candidate is tested against its neighbours (left segment = since the previous candidate,
   right segment = until the next): delta = weighted mean right - left, z = |delta| / (sigma *
   sqrt(1/W_left + 1/W_right)), sigma^2 = pooled weighted residual variance of the segmentation
   (floored at 0.1^2), z converted to a normal quantile through Student t with n - segments df.
   * a change point found by the data alone pays for the search over positions: p = min(Bonferroni,
     James-James-Siegmund approximation 2 c phi(c) ln((n_loc - m) / m)) for the maximum of the
     standardised two-sample statistic over the n_loc observations of both segments, m = min_per_side;
   * a candidate anchored by cues whose direction (sign of cue score - left level, at least
     min_delta / 2 away) agrees with delta is a test at a known place and direction: p = 1 - Phi(z),
     one-sided.
   stat = 1 - p. Cues add independent evidence (noisy-or): confidence = 1 - (1 - stat) * prod(1 - q_i),
   q_i = cue_weight * cue confidence, halved for a cue by a member rather than by the series actor
   itself. A change point near a cue is thus superseded by the cue-anchored candidate, which is
   tested at the cue's date and carries the raised confidence.
4. Backward elimination: while any candidate fails (fewer than min_per_side observations on a
   side, |delta| < min_delta, confidence < min_confidence, or a cue-only candidate whose direction
   disagrees), the failing candidate with the lowest confidence is dropped and the rest re-tested.

A stable actor therefore gets an empty list; `scan_all` states it as verdict "stable" (enough data
to see a shift of min_delta) or "insufficient_data".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import ruptures as rpt  # type: ignore[import-untyped]
from scipy import stats  # type: ignore[import-untyped]

from app.timelines.frames import require, utc

Direction = Literal["toward_support", "toward_oppose"]
Method = Literal["change_point", "cue", "change_point+cue"]
Verdict = Literal["shifted", "stable", "insufficient_data"]
FloatArray = npt.NDArray[np.float64]

MIN_DELTA = 0.3
MIN_PER_SIDE = 3
MIN_CONFIDENCE = 0.95
CUE_WEIGHT = 0.7
PENALTY_FACTOR = 2.0
MAX_EVIDENCE = 5
MAX_CPD_POINTS = 1000
SIGMA_FLOOR = 0.1
WEIGHT_FLOOR = 0.05
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_COLUMNS = ["id", "observed_at", "score", "confidence", "shift"]


@dataclass(frozen=True)
class Shift:
    """A change of level between the observations before `window_start` (inclusive) and from `at`.

    `at` is the date of the first observation at the new level (for a cue-anchored shift, the cue's
    date); the change happened after `window_start` (last observation before) and by `window_end`
    (= `at`). `before`/`after` are confidence-weighted means of the adjacent segments.
    Evidence lists are observation ids, strongest first; cue ids lead `evidence_after`.
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
    method: Method
    evidence_before: list[int] = field(default_factory=list)
    evidence_after: list[int] = field(default_factory=list)
    cue_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SeriesScan:
    """The shift verdict for one series: its shifts, or a clear "stable" / "insufficient_data"."""

    series: str
    n: int
    level: float | None
    spread: float | None
    verdict: Verdict
    shifts: list[Shift] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    series: str
    ids: npt.NDArray[np.int64]
    actors: list[str]
    times: pd.DatetimeIndex
    days: npt.NDArray[np.int64]
    y: FloatArray
    w: FloatArray
    cue_rows: list[int]
    cue_strength: FloatArray  # q per observation (0 when not a cue)


@dataclass
class _Eval:
    left_n: npt.NDArray[np.int64]
    right_n: npt.NDArray[np.int64]
    left_mean: FloatArray
    right_mean: FloatArray
    confidence: FloatArray
    valid: npt.NDArray[np.bool_]
    anchored: npt.NDArray[np.bool_]
    agreeing_cues: list[list[int]]


def _prepare(rows: pd.DataFrame, series: str | None, cue_weight: float) -> _Prepared:
    require(rows, _COLUMNS, "observation rows")
    frame = rows.loc[rows["score"].notna(), :].sort_values(["observed_at", "id"], kind="stable")
    name = series
    if name is None:
        key = "series" if "series" in frame.columns else "actor"
        name = str(frame[key].iloc[0]) if len(frame) else ""
    actors = frame["actor"].astype(str).tolist() if "actor" in frame.columns else [name] * len(frame)
    observed = utc(frame["observed_at"])
    confidence = np.asarray(frame["confidence"].astype(float).fillna(0.0).clip(0.0, 1.0), dtype=np.float64)
    w = np.clip(confidence, WEIGHT_FLOOR, 1.0)
    if len(w):
        w = w / w.mean()
    is_cue = np.asarray(frame["shift"].fillna(False).astype(bool), dtype=np.bool_)
    direct = np.array([actor == name for actor in actors], dtype=np.bool_)
    strength = np.where(is_cue, cue_weight * confidence * np.where(direct, 1.0, 0.5), 0.0)
    days = np.asarray((observed.dt.floor("D") - _EPOCH) // pd.Timedelta(days=1), dtype=np.int64)
    return _Prepared(
        series=name,
        ids=np.asarray(frame["id"].astype("int64"), dtype=np.int64),
        actors=actors,
        times=pd.DatetimeIndex(observed),
        days=days,
        y=np.asarray(frame["score"].astype(float).clip(-1.0, 1.0), dtype=np.float64),
        w=w,
        cue_rows=[int(i) for i in np.flatnonzero(is_cue)],
        cue_strength=np.asarray(strength, dtype=np.float64),
    )


def _candidate_sigma(y: FloatArray) -> float:
    diffs = np.diff(y)
    if len(diffs) == 0:
        return SIGMA_FLOOR
    mad = float(np.median(np.abs(diffs))) / 0.6745 / math.sqrt(2.0)
    rms = float(np.sqrt(np.mean(diffs**2) / 2.0))
    return max(mad, 0.5 * rms, 0.05)


def _diff_sigma(y: FloatArray) -> float:
    return float(np.sqrt(np.mean(np.diff(y) ** 2) / 2.0)) if len(y) > 1 else 0.0


def _change_points(y: FloatArray, w: FloatArray, min_size: int, penalty_factor: float) -> list[int]:
    """Candidate splits (observation indices) from KernelCPD(linear) with a liberal penalty.

    Long series are first reduced to at most MAX_CPD_POINTS consecutive blocks (weighted block
    means), because penalised KernelCPD grows faster than linearly; candidates are then block
    boundaries and are tested at observation level like any other."""
    n = len(y)
    if n < 2 * min_size:
        return []
    block = max(1, math.ceil(n / MAX_CPD_POINTS))
    signal, size = y, min_size
    if block > 1:
        starts = np.arange(0, n, block)
        signal = np.add.reduceat(w * y, starts) / np.add.reduceat(w, starts)
        size = max(1, math.ceil(min_size / block))
    if len(signal) < 2 * max(size, 2):
        return []
    sigma = _candidate_sigma(signal)
    penalty = penalty_factor * sigma**2 * math.log(len(signal))
    algo = rpt.KernelCPD(kernel="linear", min_size=max(size, 2)).fit(signal.reshape(-1, 1))
    return [min(int(k) * block, n - 1) for k in algo.predict(pen=penalty)[:-1]]


def _scan_p(c: FloatArray, n_local: int, m: int) -> FloatArray:
    """P(max over split positions of |z| > c) for n_local observations, at least m per side:
    the smaller of Bonferroni and the James-James-Siegmund approximation."""
    positions = max(n_local - 2 * m + 1, 1)
    bonferroni = positions * 2.0 * stats.norm.sf(c)
    if positions == 1:
        return np.asarray(np.minimum(1.0, bonferroni), dtype=np.float64)
    siegmund = 2.0 * c * stats.norm.pdf(c) * math.log((n_local - m) / m)
    return np.asarray(np.minimum(1.0, np.minimum(bonferroni, siegmund)), dtype=np.float64)


def _evaluate(
    data: _Prepared,
    splits: npt.NDArray[np.int64],
    cue_split: npt.NDArray[np.int64],
    cue_row: npt.NDArray[np.int64],
    cpd: npt.NDArray[np.bool_],
    *,
    min_delta: float,
    min_per_side: int,
    min_confidence: float,
) -> _Eval:
    """Test every candidate split against its neighbours (vectorised over candidates)."""
    y, w = data.y, data.w
    n = len(y)
    k = len(splits)
    bounds = np.concatenate([[0], splits, [n]]).astype(np.int64)
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cwy = np.concatenate([[0.0], np.cumsum(w * y)])
    cwyy = np.concatenate([[0.0], np.cumsum(w * y * y)])
    seg_w = cw[bounds[1:]] - cw[bounds[:-1]]
    seg_wy = cwy[bounds[1:]] - cwy[bounds[:-1]]
    seg_wyy = cwyy[bounds[1:]] - cwyy[bounds[:-1]]
    seg_mean = seg_wy / seg_w
    sse = float(np.sum(np.maximum(seg_wyy - seg_wy**2 / seg_w, 0.0)))
    df = max(n - (k + 1), 1)
    sigma = max(math.sqrt(sse / df), SIGMA_FLOOR)
    seg_n = np.diff(bounds)
    left_n, right_n = seg_n[:-1], seg_n[1:]
    left_mean, right_mean = seg_mean[:-1], seg_mean[1:]
    delta = right_mean - left_mean
    se = sigma * np.sqrt(1.0 / seg_w[:-1] + 1.0 / seg_w[1:])
    z_t = np.abs(delta) / se
    z = stats.norm.isf(np.clip(stats.t.sf(z_t, df), 1e-300, 1.0))
    # searched positions: the pooled sigma is biased low by the search, so it may not fall below the
    # (search-independent) RMS of successive differences / sqrt 2
    sigma_searched = max(sigma, _diff_sigma(y))
    z_searched = stats.norm.isf(np.clip(stats.t.sf(z_t * sigma / sigma_searched, df), 1e-300, 1.0))

    # cues at the current splits that agree with the change: far enough from the left level, same sign
    position = np.searchsorted(splits, cue_split)
    present = (
        (position < k) & (splits[np.minimum(position, max(k - 1, 0))] == cue_split) if k else position < 0
    )
    jj, rows = position[present], cue_row[present]
    offset = y[rows] - left_mean[jj]
    agree = (np.abs(offset) >= min_delta / 2) & (np.sign(offset) == np.sign(delta[jj])) & (delta[jj] != 0)
    log_miss = np.bincount(jj[agree], weights=np.log1p(-data.cue_strength[rows[agree]]), minlength=k)
    anchored = np.bincount(jj[agree], minlength=k) > 0

    plain = max(1, int(np.sum(cpd & ~anchored)))
    m = min(min_per_side, n // 2)
    searched = 1.0 - np.minimum(1.0, plain * _scan_p(z_searched, n, m))
    located = 1.0 - (stats.norm.sf(z)) * np.exp(log_miss)
    confidence = np.where(anchored, located, np.where(cpd, searched, 0.0))
    valid = (
        (anchored | cpd)
        & (left_n >= min_per_side)
        & (right_n >= min_per_side)
        & (np.abs(delta) >= min_delta)
        & (confidence >= min_confidence)
    )
    agreeing: list[list[int]] = [[] for _ in range(k)]
    for j_, row in zip(jj[agree].tolist(), rows[agree].tolist(), strict=True):
        agreeing[j_].append(int(row))
    return _Eval(left_n, right_n, left_mean, right_mean, confidence, valid, anchored, agreeing)


def _evidence(
    data: _Prepared, lo: int, hi: int, *, own: float, other: float, near: int, lead: list[int]
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


def _detect(
    data: _Prepared,
    *,
    min_delta: float,
    min_per_side: int,
    min_confidence: float,
    penalty_factor: float,
) -> list[Shift]:
    n = len(data.y)
    if n < 2 * min_per_side:
        return []
    from_cpd = set(_change_points(data.y, data.w, min_per_side, penalty_factor))
    rows = np.asarray(data.cue_rows, dtype=np.int64)
    at = np.searchsorted(data.days, data.days[rows], side="left").astype(np.int64)
    inside = (at > 0) & (at < n)
    cue_split, cue_row = at[inside], rows[inside]
    splits = np.array(sorted(from_cpd | set(cue_split.tolist())), dtype=np.int64)
    while True:
        cpd = np.isin(splits, np.fromiter(from_cpd, dtype=np.int64, count=len(from_cpd)))
        result = _evaluate(
            data,
            splits,
            cue_split,
            cue_row,
            cpd,
            min_delta=min_delta,
            min_per_side=min_per_side,
            min_confidence=min_confidence,
        )
        failing = ~result.valid
        if not failing.any():
            break
        # drop every failing candidate that is the weakest among its failing neighbours (at least the
        # weakest of all), then re-test: backward elimination, batched for long series
        conf = np.where(failing, result.confidence, np.inf)
        left = np.concatenate([[np.inf], conf[:-1]])
        right = np.concatenate([conf[1:], [np.inf]])
        drop = failing & (conf < left) & (conf <= right)
        drop[int(np.argmin(conf))] = True
        splits = splits[~drop]
    shifts: list[Shift] = []
    bounds = [0, *splits.tolist(), n]
    for j, split in enumerate(splits.tolist()):
        before, after = float(result.left_mean[j]), float(result.right_mean[j])
        cues = sorted(result.agreeing_cues[j], key=lambda row: -data.cue_strength[row])
        method: Method = "change_point"
        if result.anchored[j]:
            method = "change_point+cue" if split in from_cpd else "cue"
        shifts.append(
            Shift(
                series=data.series,
                at=data.times[split].to_pydatetime(),
                window_start=data.times[split - 1].to_pydatetime(),
                window_end=data.times[split].to_pydatetime(),
                before=round(before, 6),
                after=round(after, 6),
                delta=round(after - before, 6),
                direction="toward_support" if after > before else "toward_oppose",
                confidence=round(float(result.confidence[j]), 6),
                n_before=int(result.left_n[j]),
                n_after=int(result.right_n[j]),
                method=method,
                evidence_before=_evidence(
                    data, bounds[j], split, own=before, other=after, near=split - 1, lead=[]
                ),
                evidence_after=_evidence(
                    data, split, bounds[j + 2], own=after, other=before, near=split, lead=cues
                ),
                cue_ids=[int(data.ids[row]) for row in cues],
            )
        )
    return shifts


def detect_shifts(
    rows: pd.DataFrame,
    *,
    series: str | None = None,
    min_delta: float = MIN_DELTA,
    min_per_side: int = MIN_PER_SIDE,
    min_confidence: float = MIN_CONFIDENCE,
    cue_weight: float = CUE_WEIGHT,
    penalty_factor: float = PENALTY_FACTOR,
) -> list[Shift]:
    """Shifts of one series, in date order. `rows`: observation rows of that series only.

    `series` names it (default: the rows' `series`, else `actor`); cues by another actor (a member in
    a roll-up) count half. Returns [] for a stable series or too few observations.
    """
    data = _prepare(rows, series, cue_weight)
    return _detect(
        data,
        min_delta=min_delta,
        min_per_side=min_per_side,
        min_confidence=min_confidence,
        penalty_factor=penalty_factor,
    )


def _groups(rows: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame]]:
    key = "series" if "series" in rows.columns else "actor"
    for name, group in rows.groupby(key, sort=True):
        yield str(name), group


def detect_all(
    rows: pd.DataFrame,
    *,
    min_delta: float = MIN_DELTA,
    min_per_side: int = MIN_PER_SIDE,
    min_confidence: float = MIN_CONFIDENCE,
    cue_weight: float = CUE_WEIGHT,
    penalty_factor: float = PENALTY_FACTOR,
) -> list[Shift]:
    """Shifts of every series in `rows` (column `series`, else `actor`), strongest first:
    by confidence, then |delta|, then date."""
    found = [
        shift
        for scan in scan_all(
            rows,
            min_delta=min_delta,
            min_per_side=min_per_side,
            min_confidence=min_confidence,
            cue_weight=cue_weight,
            penalty_factor=penalty_factor,
        )
        for shift in scan.shifts
    ]
    return sorted(found, key=lambda s: (-s.confidence, -abs(s.delta), s.at, s.series))


def scan_all(
    rows: pd.DataFrame,
    *,
    min_delta: float = MIN_DELTA,
    min_per_side: int = MIN_PER_SIDE,
    min_confidence: float = MIN_CONFIDENCE,
    cue_weight: float = CUE_WEIGHT,
    penalty_factor: float = PENALTY_FACTOR,
) -> list[SeriesScan]:
    """One verdict per series, in series order: "shifted" (with its shifts in date order),
    "stable" (at least 2 x min_per_side observations and no shift) or "insufficient_data"."""
    require(rows, _COLUMNS, "observation rows")
    out: list[SeriesScan] = []
    for name, group in _groups(rows):
        data = _prepare(group, name, cue_weight)
        found = _detect(
            data,
            min_delta=min_delta,
            min_per_side=min_per_side,
            min_confidence=min_confidence,
            penalty_factor=penalty_factor,
        )
        n = len(data.y)
        level = spread = None
        if n:
            weights = data.w
            level = round(float(np.average(data.y, weights=weights)), 6)
            spread = round(float(np.sqrt(np.average((data.y - level) ** 2, weights=weights))), 6)
        verdict: Verdict = "shifted" if found else "stable" if n >= 2 * min_per_side else "insufficient_data"
        out.append(SeriesScan(series=name, n=n, level=level, spread=spread, verdict=verdict, shifts=found))
    return out
