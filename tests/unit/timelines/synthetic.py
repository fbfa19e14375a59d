"""Seeded synthetic observation series for the shift-detection tests."""

from __future__ import annotations

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
