"""Timing helpers and the result record every scenario returns."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p99 of 100 samples is the 99th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Timings:
    """Seconds per call."""

    samples: list[float]

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.samples)

    @property
    def p99_ms(self) -> float:
        return 1000 * percentile(self.samples, 0.99)


def sample(run: Callable[[], object], *, count: int, budget_seconds: float, warmup: int = 3) -> Timings:
    """Time `run` `count` times after `warmup` calls, stopping early (never below 20 samples)
    once `budget_seconds` are spent."""
    for _ in range(warmup):
        run()
    samples: list[float] = []
    spent = 0.0
    while len(samples) < count and (spent < budget_seconds or len(samples) < min(20, count)):
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        samples.append(elapsed)
        spent += elapsed
    return Timings(samples)


def interleaved(
    runs: dict[str, Callable[[], object]], *, count: int, budget_seconds: float, warmup: int = 3
) -> dict[str, Timings]:
    """Time several calls in turns (a, b, a, b, ...) so that other load on the machine falls on
    all of them alike; stops as `sample` does, on the total time."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    spent, rounds = 0.0, 0
    while rounds < count and (spent < budget_seconds or rounds < min(20, count)):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            elapsed = time.perf_counter() - started
            samples[name].append(elapsed)
            spent += elapsed
        rounds += 1
    return {name: Timings(values) for name, values in samples.items()}


@dataclass
class Result:
    """One row of the table: a scenario on one engine (and corpus size), against its baseline."""

    scenario: str
    engine: str
    size: int | None
    unit: str  # "ms" (lower is better) or a rate such as "articles/s" (higher is better)
    value: float | None  # p99 for ms, the median rate for rates
    baseline: str
    baseline_value: float | None
    ratio: float | None  # value / baseline_value for ms; value / baseline_value for rates
    target: str
    met: bool | None
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
