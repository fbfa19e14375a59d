"""Statistical change points on dense series (at least `min_per_side` observations a side).

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import ruptures as rpt  # type: ignore[import-untyped]
from scipy import stats  # type: ignore[import-untyped]

from app.timelines.series import (
    Basis,
    FloatArray,
    Prepared,
    Shift,
    moved_reason,
    shift_between,
    stated_reason,
)

MIN_DELTA = 0.3
MIN_PER_SIDE = 3
MIN_CONFIDENCE = 0.95
PENALTY_FACTOR = 2.0
MAX_CPD_POINTS = 1000
SIGMA_FLOOR = 0.1


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
    data: Prepared,
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


def detect(
    data: Prepared,
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
        basis: list[Basis] = ["stated", "statistical"] if result.anchored[j] else ["statistical"]
        n_before, n_after = int(result.left_n[j]), int(result.right_n[j])
        tested = (
            f"A change-point test over {n_before + n_after} observations puts the change here "
            f"(confidence {float(result.confidence[j]):.3f}); "
            + moved_reason(before, n_before, after, n_after)
        )
        reasons = [stated_reason(data, cues), tested] if cues else [tested]
        shifts.append(
            shift_between(
                data,
                (bounds[j], split),
                (split, bounds[j + 2]),
                (before, after),
                window=(split - 1, split),
                confidence=float(result.confidence[j]),
                basis=basis,
                reasons=reasons,
                cues=cues,
            )
        )
    return shifts
