"""Office changes: a state's level moved because a different person now holds its office.

A roll-up series counts its members' observations (Scholz's, then Merz's, for Germany). When the
observations before a shift come from members none of whom speak after it, and the membership of
one of them in the series' actor ends, or of a new speaker begins, within the shift's window, the
shift is explained by the change of office holder: the basis gains "office_change" and the reason
names the people and the date.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pandas as pd

from app.timelines.frames import utc
from app.timelines.series import OfficeChange, Prepared, Shift


def _boundaries(memberships: pd.DataFrame, actors: set[str], parent: str, column: str) -> list[datetime]:
    rows = memberships[(memberships["parent"] == parent) & memberships["actor"].isin(actors)]
    return [stamp.to_pydatetime() for stamp in utc(rows[column]).dropna()]


def annotate(shifts: list[Shift], data: Prepared, memberships: pd.DataFrame) -> list[Shift]:
    """`shifts` of `data`'s series, those explained by a change of office holder annotated."""
    if memberships.empty:
        return shifts
    actor_of = dict(zip(data.ids.tolist(), data.actors, strict=True))
    out: list[Shift] = []
    for shift in shifts:
        if shift.office_change is not None:
            out.append(shift)
            continue
        before = {actor_of[i] for i in shift.evidence_before if i in actor_of} - {data.series}
        after = {actor_of[i] for i in shift.evidence_after if i in actor_of} - {data.series}
        change = None
        if before and after and not before & after:
            bounds = _boundaries(memberships, before, data.series, "valid_to")
            bounds += _boundaries(memberships, after, data.series, "valid_from")
            inside = sorted(b for b in bounds if shift.window_start < b <= shift.window_end)
            if inside:
                change = OfficeChange(before=sorted(before), after=sorted(after), at=inside[0])
        if change is None:
            out.append(shift)
            continue
        reason = (
            f"The office holder changed on {change.at:%Y-%m-%d}: "
            f"{', '.join(change.before)} before, {', '.join(change.after)} after"
        )
        out.append(
            replace(
                shift,
                basis=[*shift.basis, "office_change"],
                reasons=[*shift.reasons, reason],
                office_change=change,
            )
        )
    return out
