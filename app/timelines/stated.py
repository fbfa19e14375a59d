"""Stated shifts: a sentence reports that the actor's position changed ("reversed", "dropped its
opposition", "no longer", "a dramatic shift").

A cue (an observation whose sentence reports a change) anchors a shift when the series shows
where the actor came from: the latest earlier observation on the other side of the scale (opposite
sign, or at least `JUMP_MIN` away from the cue's score); or, with no such observation, the earlier
position the sentence itself states (`shift_from`). The shift lies between that observation and the
first later one closer to the cue's score than to it; the sides are the runs of observations at
each level around it. A cue that says "changed" while everything earlier sits where the cue sits
anchors nothing: the change it reports is not visible on the coded scale.

Confidence combines independent evidence by noisy-or: the sparse model's probability of a jump in
that direction between the two observations (0 on dense series), and each cue in the new run,
q = cue weight x the cue's confidence (halved for a member's cue):
confidence = 1 - (1 - P_data) * prod(1 - q_i). A stated shift that meets the rule above is reported
from `REPORT_MIN` (0.25: the sentence and the earlier observation are the evidence the rule asks
for; the confidence says how sure the coding of both is).
"""

from __future__ import annotations

import math

import numpy as np

from app.timelines.series import Prepared, Shift, shift_between, side_mean, stated_reason
from app.timelines.sparse import JUMP_MIN, Fit

REPORT_MIN = 0.25


def _run(data: Prepared, start: int, step: int, own: float, other: float) -> int:
    """The last row of the run from `start` (moving by `step`) that sits nearer `own` than `other`."""
    row = start
    while 0 <= row + step < len(data) and abs(data.y[row + step] - own) < abs(data.y[row + step] - other):
        row += step
    return row


def _contradicted(data: Prepared, cue: int, after_end: int, old: float, level: float) -> bool:
    """The cue's own voice is next heard back at the old level, and no sentence in between reports
    that change back: the change the sentence reports did not hold (another member's later view
    does not count against it)."""
    voice = data.actors[cue]
    later = next((row for row in range(after_end, len(data)) if data.actors[row] == voice), None)
    return (
        later is not None
        and abs(data.y[later] - old) < abs(data.y[later] - level)
        and not data.cue_strength[after_end : later + 1].any()
    )


def detect(data: Prepared, model: Fit | None, *, report_min: float | None = None) -> list[Shift]:
    least = REPORT_MIN if report_min is None else report_min
    found: dict[tuple[int, int], Shift] = {}
    for cue in data.cue_rows:
        level = float(data.y[cue])
        prior = data.y[: int(np.searchsorted(data.days, data.days[cue], side="left"))]
        earlier = np.flatnonzero((np.abs(prior - level) >= JUMP_MIN - 1e-9) | (prior * level < 0))
        stated = float(data.stated_from[cue])
        if len(earlier):
            last_old = int(earlier[-1])
            old = float(data.y[last_old])
        elif not math.isnan(stated) and abs(stated - level) >= 0.5:
            last_old, old = -1, stated
        else:
            continue
        first_new = max(_run(data, cue, -1, level, old), last_old + 1)
        if (last_old, first_new) in found:
            continue
        after_end = _run(data, first_new, 1, level, old) + 1
        if _contradicted(data, cue, after_end, old, level):
            continue
        upward = level > old
        cues = [
            row
            for row in data.cue_rows
            if first_new <= row < after_end and (data.y[row] > old) == upward and data.y[row] != old
        ]
        cues.sort(key=lambda row: -data.cue_strength[row])
        moved = 0.0
        if model is not None and last_old >= 0:
            moved = model.moved(model.block_of(last_old), model.block_of(first_new), upward)
        confidence = 1.0 - (1.0 - moved) * float(np.prod(1.0 - data.cue_strength[cues]))
        if confidence < least:
            continue
        if last_old >= 0:
            before_start = _run(data, last_old, -1, old, level)
            old_rows = (before_start, last_old + 1)
            before, opened = side_mean(data, *old_rows), last_old
        else:
            # only the sentence states the old position (`shift_from`): no rows on that side
            old_rows, before, opened = (first_new, first_new), old, max(first_new - 1, 0)
        after = side_mean(data, first_new, after_end)
        if (after > before) != upward:
            continue
        reason = stated_reason(data, cues)
        if last_old < 0:
            reason += f" (the sentence itself states the earlier position, {old:+.2f})"
        found[(last_old, first_new)] = shift_between(
            data,
            old_rows,
            (first_new, after_end),
            (before, after),
            window=(opened, first_new),
            confidence=confidence,
            basis=["stated"],
            reasons=[reason],
            cues=cues,
            # the old run was found against the cue's own score, so its evidence is drawn against it
            told_from=level,
        )
    return list(found.values())
