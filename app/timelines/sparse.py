"""Observed flips on sparse series: a hidden level on the coded scale that rarely jumps.

Real news reports an actor's position a handful of times, so the question is not "is the mean
different" (a test needs several observations a side) but "do the coded positions cross the scale
in a way coding noise does not explain". The model:

* the actor holds a level g on a grid over [-1, 1] (`LEVELS`); between two reporting days d days
  apart it keeps it, or jumps by at least `JUMP_MIN` (a step a coder would call a change of
  position, not a nuance: 0 -> -1, +0.5 -> -0.5; not +1 -> +0.5), uniformly among those levels,
  with probability p = 1 - (1 - `CHANGE_PER_MONTH`)^(d / 30): changes come at a steady rate, so
  reports a day apart leave less room for one than reports a season apart;
* an observation is the level plus coding jitter, Normal(g, s) truncated to [-1, 1], except with
  probability eps = clip(`NOISE_SHARE` x (1 - confidence), 0.03, 0.5), when it is noise, uniform
  on [-1, 1] (a miscoded or misattributed sentence; at least `AUTOMATIC_NOISE` for an automatic
  observation nobody has reviewed). s is `CODING_JITTER` (0.25: the development sets' stable
  actors are coded within half a step of their level) a priori, learnt from the series when it is
  long enough to say otherwise (averaged over `OWN_JITTERS` by evidence, prior `OWN_PRIOR`); in a
  roll-up with several voices, the series' own statements keep the coding jitter and members'
  statements get an s averaged over `MEMBER_JITTERS`, so members who disagree read as noise rather
  than as flips;
* observations of the same day share a level (no change can be placed between them).

Forward-backward gives, for every gap between reporting days, the posterior probability of a jump
up and of a jump down (averaged over s by each s's evidence). A change is a run of consecutive
gaps each carrying at least `RUN_MASS` of jumps in one direction; its probability is the run's sum
(capped at 1: exact when the paths that carry the mass hold one jump in the run), its window the
run, its date the gap carrying the most. In a roll-up, a change counts only when a voice heard on
both sides moved (`moving_voice`) or the office holder changed (`app.timelines.office`): members
taking turns is not a change of mind.

`confidence` is thus a posterior probability under this model, and a change is reported from
`REPORT_MIN` (0.5: more likely a change than not). `CHANGE_PER_MONTH` was set on synthetic series
(tests/unit/timelines/synthetic.py: 2 to 8 observations on the five-point scale, a coder half a
step off 3 times in 10 and misreading 3 in 100, the development sets' mix of coder confidence):
the largest round rate at which fewer than 5 in 100 series without a change show one
(tests/unit/timelines/test_sparse.py measures it; `python -m bench.shift_recall` reports it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special  # type: ignore[import-untyped]

from app.timelines.series import FloatArray, Prepared, Shift, moved_reason, shift_between, side_mean

LEVELS = np.linspace(-1.0, 1.0, 9)
JUMP_MIN = 0.75
CHANGE_PER_MONTH = 0.08
CODING_JITTER = 0.25
NOISE_SHARE = 0.33
NOISE_FLOOR = 0.03
# unreviewed extraction misreads more often than a coder: 1 - label accuracy of the rules engine
# on the development sets is 0.15 to 0.20 (README, "Quality"), before wrong actors and dates
AUTOMATIC_NOISE = 0.2
# one voice: the coding jitter unless many observations say the series is noisier
OWN_JITTERS, OWN_PRIOR = (CODING_JITTER, 0.35, 0.5), (0.8, 0.15, 0.05)
MEMBER_JITTERS, MEMBER_PRIOR = (0.25, 0.4, 0.6, 0.8), (0.25, 0.25, 0.25, 0.25)
RUN_MASS = 0.1
_SQRT_2PI = float(np.sqrt(2.0 * np.pi))
MAX_OBSERVATIONS = 40
REPORT_MIN = 0.5


@dataclass(frozen=True)
class Fit:
    """The model fitted to one series. Blocks are reporting days; gap t lies between blocks t and t+1."""

    block_start: npt.NDArray[np.int64]  # first row of each block, plus len(rows) at the end
    up: FloatArray  # P(jump up at gap t), averaged over the jitter
    down: FloatArray

    @property
    def blocks(self) -> int:
        return len(self.block_start) - 1

    def rows(self, first_block: int, end_block: int) -> tuple[int, int]:
        """Rows [lo, hi) of blocks [first_block, end_block)."""
        return int(self.block_start[first_block]), int(self.block_start[end_block])

    def block_of(self, row: int) -> int:
        return int(np.searchsorted(self.block_start, row, side="right") - 1)

    def moved(self, first_gap: int, end_gap: int, upward: bool) -> float:
        """P(a jump in that direction in gaps [first_gap, end_gap)), capped at 1."""
        mass = self.up if upward else self.down
        return float(min(1.0, mass[first_gap:end_gap].sum()))


def _transitions(days_apart: npt.NDArray[np.int64], change_per_month: float) -> FloatArray:
    """One transition matrix per gap, shape (gaps, levels, levels): a change is as likely in any
    month, so two reports a day apart leave less room for one than two reports a season apart."""
    far = np.abs(LEVELS[:, None] - LEVELS[None, :]) >= JUMP_MIN - 1e-9
    jump = far / far.sum(axis=1, keepdims=True)
    p = 1.0 - (1.0 - change_per_month) ** (np.maximum(days_apart, 1) / 30.0)
    stay = np.eye(len(LEVELS))[None, :, :]
    return np.asarray((1.0 - p)[:, None, None] * stay + p[:, None, None] * jump[None, :, :], dtype=np.float64)


def _log_emissions(data: Prepared, block_start: npt.NDArray[np.int64], jitter: FloatArray) -> FloatArray:
    """log P(block t's observations | level g), shape (blocks, levels); `jitter` per row."""
    y = data.y[:, None]
    s = jitter[:, None]
    mass = special.ndtr((1.0 - LEVELS[None, :]) / s) - special.ndtr((-1.0 - LEVELS[None, :]) / s)
    z = (y - LEVELS[None, :]) / s
    density = np.exp(-0.5 * z * z) / (_SQRT_2PI * s * mass)
    eps = np.clip(NOISE_SHARE * (1.0 - data.confidence), NOISE_FLOOR, 0.5)
    eps = np.where(data.automatic, np.maximum(eps, AUTOMATIC_NOISE), eps)[:, None]
    per_row = np.log((1.0 - eps) * density + eps / 2.0)
    return np.asarray(np.add.reduceat(per_row, block_start[:-1], axis=0), dtype=np.float64)


def _forward_backward(log_e: FloatArray, transition: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """Log evidence and, per gap, the posterior probability of a jump up and of a jump down.

    Scaled recursions (Rabiner): alpha_t sums to 1 with scale c_t, beta_t shares the scales, so the
    pairwise posterior of gap t is alpha_t[g'] T[g', g] e_{t+1}[g] beta_{t+1}[g] / c_{t+1}."""
    blocks, size = log_e.shape
    top = log_e.max(axis=1, keepdims=True)
    e = np.exp(log_e - top)
    alpha = np.empty((blocks, size))
    scale = np.empty(blocks)
    a = e[0] / size
    for t in range(blocks):
        if t:
            a = (alpha[t - 1] @ transition[t - 1]) * e[t]
        scale[t] = a.sum()
        alpha[t] = a / scale[t]
    beta = np.ones((blocks, size))
    for t in range(blocks - 2, -1, -1):
        beta[t] = transition[t] @ (e[t + 1] * beta[t + 1]) / scale[t + 1]
    xi = alpha[:-1, :, None] * transition * (e[1:] * beta[1:])[:, None, :] / scale[1:, None, None]
    higher = LEVELS[None, :] > LEVELS[:, None]
    up = xi[:, higher].sum(axis=1)
    down = xi[:, LEVELS[None, :] < LEVELS[:, None]].sum(axis=1)
    return float(np.log(scale).sum() + top.sum()), np.asarray(up), np.asarray(down)


def fit(data: Prepared, *, change_per_month: float | None = None) -> Fit | None:
    """The model on `data`; None for fewer than two reporting days or more than MAX_OBSERVATIONS
    observations (dense series are left to the change-point test)."""
    if len(data) > MAX_OBSERVATIONS:
        return None
    block_start = np.flatnonzero(np.r_[True, np.diff(data.days) != 0]).astype(np.int64)
    block_start = np.r_[block_start, len(data)].astype(np.int64)
    if len(block_start) < 3:
        return None
    rate = CHANGE_PER_MONTH if change_per_month is None else change_per_month
    transition = _transitions(np.diff(data.days[block_start[:-1]]), rate)
    own = np.array([actor == data.series for actor in data.actors], dtype=np.bool_)
    # one voice: its coding jitter is known; several: members may differ from the whole, by how much
    # is learnt from the series (the series' own statements keep the coding jitter)
    several = len(set(data.actors)) > 1
    spreads, prior = (MEMBER_JITTERS, MEMBER_PRIOR) if several else (OWN_JITTERS, OWN_PRIOR)
    evidences, ups, downs = [], [], []
    for spread in spreads:
        jitter = np.where(own, CODING_JITTER, spread) if several else np.full(len(data), spread)
        log_e = _log_emissions(data, block_start, jitter)
        log_z, up, down = _forward_backward(log_e, transition)
        evidences.append(log_z)
        ups.append(up)
        downs.append(down)
    log_post = np.asarray(evidences) + np.log(prior)
    weight = np.exp(log_post - special.logsumexp(log_post))
    return Fit(
        block_start=block_start,
        up=np.asarray(weight @ np.asarray(ups), dtype=np.float64),
        down=np.asarray(weight @ np.asarray(downs), dtype=np.float64),
    )


def _runs(mass: FloatArray) -> list[tuple[int, int]]:
    """Maximal runs [first, end) of consecutive gaps each carrying at least RUN_MASS."""
    runs, start = [], None
    for gap, value in enumerate([*mass.tolist(), 0.0]):
        if value >= RUN_MASS and start is None:
            start = gap
        elif value < RUN_MASS and start is not None:
            runs.append((start, gap))
            start = None
    return runs


def moving_voice(data: Prepared, before: tuple[int, int], after: tuple[int, int], upward: bool) -> bool:
    """Some voice heard on both sides moved that way by at least half a step: a roll-up whose
    speakers merely take turns (Denmark, then the US) has not changed its mind."""
    frame = np.asarray(data.actors, dtype=object)
    for voice in set(frame[before[0] : before[1]]) & set(frame[after[0] : after[1]]):
        old = data.y[before[0] : before[1]][frame[before[0] : before[1]] == voice].mean()
        new = data.y[after[0] : after[1]][frame[after[0] : after[1]] == voice].mean()
        if (new - old if upward else old - new) >= 0.5:
            return True
    return False


def detect(data: Prepared, model: Fit | None, *, report_min: float = REPORT_MIN) -> list[tuple[Shift, bool]]:
    """Runs of gaps whose jump probability in one direction adds up to `report_min`, each with
    whether a voice heard on both sides moved (`moving_voice`)."""
    if model is None:
        return []
    changes = []
    for upward, mass in ((True, model.up), (False, model.down)):
        for first, end in _runs(mass):
            probability = float(min(1.0, mass[first:end].sum()))
            if probability >= report_min:
                changes.append((first + int(np.argmax(mass[first:end])), first, end, upward, probability))
    changes.sort()
    splits = [model.rows(change[0] + 1, change[0] + 1)[0] for change in changes]
    found: list[tuple[Shift, bool]] = []
    for k, (_, first, end, upward, probability) in enumerate(changes):
        split = splits[k]
        before_lo = splits[k - 1] if k else 0
        after_hi = splits[k + 1] if k + 1 < len(splits) else len(data)
        before, after = side_mean(data, before_lo, split), side_mean(data, split, after_hi)
        if (after > before) != upward:
            continue  # the weighted means disagree with the model: no clear move to report
        window_start = model.rows(first + 1, first + 1)[0] - 1
        window_end = model.rows(end, end)[0]
        shift = shift_between(
            data,
            (before_lo, split),
            (split, after_hi),
            (before, after),
            window=(window_start, window_end),
            confidence=probability,
            basis=["observed"],
            reasons=[
                moved_reason(before, split - before_lo, after, after_hi - split)
                + f"; probability {probability:.2f} that this is a change rather than coding noise"
            ],
        )
        found.append((shift, moving_voice(data, (before_lo, split), (split, after_hi), upward)))
    return found
