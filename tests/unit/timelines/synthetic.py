"""Seeded synthetic observation series for the shift-detection tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-06", tz="UTC")


def step_series(
    rng: np.random.Generator, before: int, after: int, step: float, sd: float = 0.3, start: float = 0.0
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Observations every 2-5 days (about 2 a week), level `start` then `start + step`, Gaussian
    noise, clipped to [-1, 1], confidence 0.8. Returns the rows and the date of the first
    observation at the new level."""
    n = before + after
    days = np.cumsum(rng.integers(2, 6, n))
    observed = START + pd.to_timedelta(days, unit="D")
    level = np.r_[np.full(before, start), np.full(after, start + step)]
    score = np.clip(level + rng.normal(0.0, sd, n), -1.0, 1.0)
    rows = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "actor": "a",
            "observed_at": observed,
            "score": score,
            "confidence": 0.8,
            "shift": False,
            "evidence": None,
            "article_id": None,
            "article_url": None,
        }
    )
    return rows, observed[before]


SCALE = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
# coders' confidence on the development sets: high 0.9, medium 0.7, low 0.5 (trade + defence gold)
CONFIDENCES = np.array([0.9, 0.7, 0.5])
CONFIDENCE_SHARES = np.array([0.73, 0.25, 0.02])


def coded(
    rng: np.random.Generator, level: float, n: int, *, nuance: float = 0.3, miscoded: float = 0.03
) -> np.ndarray:
    """`n` codings of a position held at `level` on the five-point scale: a coder lands half a step
    off with probability `nuance` (either way, clipped), or anywhere on the scale with probability
    `miscoded` (a misread sentence)."""
    step = rng.choice([-0.5, 0.5], n) * (rng.random(n) < nuance)
    scores = np.clip(level + step, -1.0, 1.0)
    wrong = rng.random(n) < miscoded
    scores[wrong] = rng.choice(SCALE, int(wrong.sum()))
    return scores


def sparse_series(
    rng: np.random.Generator, levels: list[float], counts: list[int], *, actor: str = "a", **noise: float
) -> tuple[pd.DataFrame, list[pd.Timestamp]]:
    """A short series reported as real news reports positions: a few codings per level, days to
    months apart. Returns the rows and the date of the first observation at each new level."""
    scores = np.concatenate([coded(rng, level, n, **noise) for level, n in zip(levels, counts, strict=True)])
    n = len(scores)
    days = np.cumsum(rng.integers(1, 60, n))
    observed = START + pd.to_timedelta(days, unit="D")
    starts = np.cumsum(counts)[:-1]
    rows = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "actor": actor,
            "observed_at": observed,
            "score": scores,
            "confidence": rng.choice(CONFIDENCES, n, p=CONFIDENCE_SHARES),
            "shift": False,
            "evidence": None,
            "article_id": None,
            "article_url": None,
        }
    )
    return rows, [observed[i] for i in starts]


def coded_rows(
    points: list[tuple[int, float]],
    *,
    series: str,
    voices: list[str] | None = None,
    cues: dict[int, str] | None = None,
    stated_from: dict[int, float] | None = None,
) -> pd.DataFrame:
    """(day, score) codings of `series`, confidence 0.9; `voices` names who speaks (default: the
    series' own actor); `cues` maps a position to the sentence that reports a change there, and
    `stated_from` to the earlier position that sentence states."""
    cues, stated_from = cues or {}, stated_from or {}
    n = len(points)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "series": series,
            "actor": voices or [series] * n,
            "observed_at": [START + pd.Timedelta(days=day) for day, _ in points],
            "score": [score for _, score in points],
            "confidence": 0.9,
            "shift": [i in cues for i in range(n)],
            "shift_from": [stated_from.get(i, math.nan) for i in range(n)],
            "evidence": [cues.get(i) for i in range(n)],
        }
    )
