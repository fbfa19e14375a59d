"""Bucketed sums -> per-actor series of confidence-weighted mean scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd


@dataclass(frozen=True)
class Point:
    bucket: datetime
    score: float
    count: int
    weight: float


@dataclass(frozen=True)
class Series:
    actor: str
    name: str
    points: list[Point]


def weighted_levels(buckets: pd.DataFrame) -> pd.DataFrame:
    """Add `score`: the confidence-weighted mean, falling back to the plain mean when all weights are 0.

    Input columns: actor, name, bucket, weighted_sum, weight, score_sum, count.
    """
    frame = buckets.copy()
    weight = frame["weight"].astype(float)
    plain_mean = frame["score_sum"].astype(float) / frame["count"].clip(lower=1)
    weighted_mean = frame["weighted_sum"].astype(float) / weight.where(weight > 0)
    frame["score"] = weighted_mean.fillna(plain_mean).clip(-1.0, 1.0)
    return frame


def to_series(buckets: pd.DataFrame, actors: list[tuple[str, str]]) -> list[Series]:
    """One series per (slug, name) in `actors`, in that order; an actor with no observations gets an
    empty series rather than a missing one."""
    levels = weighted_levels(buckets)
    by_actor = dict(iter(levels.groupby("actor", sort=False)))
    out: list[Series] = []
    for actor, name in actors:
        group = by_actor.get(actor)
        points: list[Point] = []
        if group is not None:
            columns = zip(
                group["bucket"].tolist(),
                group["score"].tolist(),
                group["count"].tolist(),
                group["weight"].tolist(),
                strict=True,
            )
            points = [
                Point(
                    bucket=pd.Timestamp(bucket).to_pydatetime(),
                    score=round(float(score), 6),
                    count=int(count),
                    weight=round(float(weight), 6),
                )
                for bucket, score, count, weight in columns
            ]
        out.append(Series(actor=actor, name=name, points=points))
    return out


def tidy_frame(series: list[Series], topic: str) -> pd.DataFrame:
    """Long format for CSV/NDJSON: topic, actor, bucket (ISO-8601 UTC), score, count, weight."""
    rows = [
        {
            "topic": topic,
            "actor": s.actor,
            "bucket": p.bucket.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "score": p.score,
            "count": p.count,
            "weight": p.weight,
        }
        for s in series
        for p in s.points
    ]
    return pd.DataFrame(rows, columns=["topic", "actor", "bucket", "score", "count", "weight"])
