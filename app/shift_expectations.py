"""Documented position changes of a development set, checked against the shifts the service found.

An expectations file (JSON) lists, from a set's NOTES.md / README, the changes a reader of the
articles sees, each with the actors that may carry it (a person or the state they speak for), the
topic, the direction and the date window in which the shift must be placed, and the stable
controls: actor x topic pairs that must show no shift at all.

`size` says how far the position moved: "change" (across the scale, or by at least a full step:
support to oppose, 0 to -1) or "nuance" (a half step within one side: +0.5 to +1). Changes are
what shift detection promises to find; nuances are reported beside them.

A documented change is found when a shift of one of its actors, on its topic, in its direction,
is dated (`at`) within its window widened by `SLACK_DAYS` on each side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson

SLACK_DAYS = 3
Size = Literal["change", "nuance"]


@dataclass(frozen=True)
class ExpectedChange:
    actors: tuple[str, ...]
    topic: str
    direction: str
    start: date
    end: date
    size: Size
    note: str


@dataclass(frozen=True)
class StableControl:
    actor: str
    topic: str


@dataclass(frozen=True)
class Expectations:
    name: str
    changes: tuple[ExpectedChange, ...]
    stable: tuple[StableControl, ...]


@dataclass(frozen=True)
class ChangeResult:
    expected: ExpectedChange
    found: Mapping[str, Any] | None  # the matching shift


@dataclass(frozen=True)
class Report:
    name: str
    changes: tuple[ChangeResult, ...]
    false_alarms: tuple[tuple[StableControl, Mapping[str, Any]], ...]  # shifts of stable controls

    def recall(self, size: Size) -> tuple[int, int]:
        wanted = [r for r in self.changes if r.expected.size == size]
        return sum(r.found is not None for r in wanted), len(wanted)


def load(path: Path) -> Expectations:
    data = orjson.loads(path.read_bytes())
    changes = tuple(
        ExpectedChange(
            actors=tuple(item["actors"]),
            topic=item["topic"],
            direction=item["direction"],
            start=date.fromisoformat(item["from"]),
            end=date.fromisoformat(item["to"]),
            size=item["size"],
            note=item.get("note", ""),
        )
        for item in data["changes"]
    )
    stable = tuple(StableControl(item["actor"], item["topic"]) for item in data["stable"])
    return Expectations(name=data["set"], changes=changes, stable=stable)


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def _matches(change: ExpectedChange, shift: Mapping[str, Any]) -> bool:
    slack = timedelta(days=SLACK_DAYS)
    return (
        shift["actor"] in change.actors
        and shift["topic"] == change.topic
        and shift["direction"] == change.direction
        and change.start - slack <= _day(shift["at"]) <= change.end + slack
    )


def check(expectations: Expectations, shifts: Sequence[Mapping[str, Any]]) -> Report:
    """Match `shifts` (documents as `GET /v1/shifts` lists them) against the expectations."""
    results = tuple(
        ChangeResult(change, next((s for s in shifts if _matches(change, s)), None))
        for change in expectations.changes
    )
    alarms = tuple(
        (control, shift)
        for control in expectations.stable
        for shift in shifts
        if shift["actor"] == control.actor and shift["topic"] == control.topic
    )
    return Report(name=expectations.name, changes=results, false_alarms=alarms)


def describe(report: Report) -> list[str]:
    """One line per documented change and per false alarm, for a report or a failing test."""
    lines = []
    for result in report.changes:
        change = result.expected
        mark = "found" if result.found else "MISSED"
        how = ""
        if result.found:
            how = f" as {result.found['actor']} {'+'.join(result.found['basis'])} {result.found['confidence']:.2f}"
        lines.append(
            f"{mark:6} {change.size:6} {'/'.join(change.actors)} {change.topic} {change.direction} "
            f"{change.start}..{change.end}{how}"
        )
    for control, shift in report.false_alarms:
        lines.append(f"FALSE  stable {control.actor} {control.topic}: {shift['direction']} at {shift['at']}")
    return lines
