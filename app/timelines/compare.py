"""Compare actors on the same buckets: aligned series and their distance over time.

Input: a levels frame (`app.timelines.levels.levels`, which already puts every series on one
shared bucket grid). For two actors the distance is the per-bucket absolute difference of their
levels; for more, every pair (in the given actor order). Buckets where either actor is empty
have a NaN distance and are left out of the summary.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pandas as pd

from app.timelines.frames import require


@dataclass(frozen=True)
class PairDistance:
    a: str
    b: str
    mean_distance: float | None  # mean over buckets where both have a level
    max_distance: float | None
    buckets: int  # buckets where both have a level


@dataclass(frozen=True)
class Comparison:
    """`aligned`: bucket + one column per actor (NaN when empty).
    `distances`: long frame bucket, a, b, distance. `mean_distance`: over all pairs and buckets."""

    actors: list[str]
    aligned: pd.DataFrame
    distances: pd.DataFrame
    pairs: list[PairDistance] = field(default_factory=list)
    mean_distance: float | None = None


def compare(levels_frame: pd.DataFrame, actors: list[str], column: str = "score") -> Comparison:
    """Align `column` ("score" or "smoothed") of `actors`; actors missing from the frame are all-NaN."""
    require(levels_frame, ["series", "bucket", column], "levels")
    names = list(dict.fromkeys(actors))
    wide = levels_frame.pivot_table(
        index="bucket", columns="series", values=column, aggfunc="first", dropna=False
    )
    grid = pd.Index(sorted(levels_frame["bucket"].unique()), name="bucket")
    wide = wide.reindex(index=grid, columns=names).astype(float)
    aligned = wide.reset_index()
    aligned.columns.name = None
    parts: list[pd.DataFrame] = []
    pairs: list[PairDistance] = []
    for a, b in itertools.combinations(names, 2):
        distance = (wide[a] - wide[b]).abs()
        parts.append(pd.DataFrame({"bucket": grid, "a": a, "b": b, "distance": distance.to_numpy()}))
        both = distance.dropna()
        pairs.append(
            PairDistance(
                a=a,
                b=b,
                mean_distance=round(float(both.mean()), 6) if len(both) else None,
                max_distance=round(float(both.max()), 6) if len(both) else None,
                buckets=len(both),
            )
        )
    distances = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"bucket": grid[:0], "a": [], "b": [], "distance": []})
    )
    valid = distances["distance"].dropna()
    return Comparison(
        actors=names,
        aligned=aligned,
        distances=distances,
        pairs=pairs,
        mean_distance=round(float(valid.mean()), 6) if len(valid) else None,
    )
