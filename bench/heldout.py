"""Each storyline held out of the tuning: `python -m bench.heldout [--sets DIR ...]`.

The pipeline has three numbers (`app.extraction.pipeline.Tuning`). They were set by hand; this
checks what fitting them would do, storyline by storyline. For every storyline of the development
sets, the grid value with the best mean strict F1 on the *other* storylines is chosen and the
held-out storyline is scored with it, next to its score with the shipped defaults. A storyline
whose held-out figure falls well below its default figure says the defaults were fitted to it.

Storylines: the `storyline` field of each record where it has one; the Ukraine set has none, so
its articles are grouped by the storyline their gold topics belong to (`../shared/corpus/README.md`:
S1 ground troops, training and monitoring; S2 US military aid and Tomahawks); articles without
gold (distractors) are left out: F1 is not defined on them (their false positives count in
`stanceline eval`).
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.devsets import DevSet, LoadedSet
from app.extraction import evaluation
from app.extraction.corpus import parse_article
from app.extraction.pipeline import PipelineExtractor, Tuning
from app.extraction.types import RegistrySnapshot

GRID = {
    "focus_alone": (0.5, 0.6, 0.75, 1.01),
    "recent_topic": (2, 3, 4),
    "compound_window": (4, 6, 8),
}
_UKRAINE_STORYLINES = {
    "ground-troops-ukraine": "ukraine/S1",
    "training-ukrainian-forces": "ukraine/S1",
    "ceasefire-monitoring": "ukraine/S1",
    "us-military-aid-ukraine": "ukraine/S2",
    "tomahawk-missiles-ukraine": "ukraine/S2",
}


def storyline_of(set_name: str, article: Mapping[str, Any]) -> str | None:
    """The storyline an article with gold belongs to; None for distractors (no gold)."""
    topics = [g["topic"] for g in article.get("gold") or ()]
    if not topics:
        return None
    if article.get("storyline"):
        return f"{set_name}/{article['storyline']}"
    return _UKRAINE_STORYLINES.get(topics[0], f"{set_name}/other")


def predictions(loaded: LoadedSet, tuning: Tuning) -> list[dict[str, Any]]:
    extractor = PipelineExtractor(RegistrySnapshot.from_dict(loaded.registry), tuning)
    rows: list[dict[str, Any]] = []
    for number, article in enumerate(loaded.articles, 1):
        article_id, parsed = parse_article(article, number)
        rows.extend(
            {
                "article_id": article_id,
                "actor": o.actor,
                "topic": o.topic,
                "label": o.label,
                "score": o.score,
                "confidence": o.confidence,
                "observed_at": o.observed_at.isoformat(),
            }
            for o in extractor.extract(parsed)
        )
    return rows


def _f1(loaded: LoadedSet, rows: Sequence[Mapping[str, Any]], article_ids: set[str]) -> float:
    articles = [a for a in loaded.articles if str(a.get("id")) in article_ids]
    kept = [r for r in rows if str(r["article_id"]) in article_ids]
    return float(evaluation.score_predictions(articles, kept, loaded.registry)["strict"]["f1"])


def held_out(sets: Iterable[LoadedSet]) -> list[dict[str, Any]]:
    loaded = list(sets)
    folds: dict[str, tuple[LoadedSet, set[str]]] = {}
    for one in loaded:
        groups: dict[str, set[str]] = defaultdict(set)
        for article in one.articles:
            storyline = storyline_of(one.source.name, article)
            if storyline is not None:
                groups[storyline].add(str(article["id"]))
        for storyline, ids in groups.items():
            folds[storyline] = (one, ids)
    grid = [
        Tuning(focus_alone=float(focus), recent_topic=int(recent), compound_window=int(window))
        for focus, recent, window in itertools.product(*GRID.values())
    ]
    default = Tuning()
    if default not in grid:
        grid.append(default)
    # F1 of every grid point on every storyline (one extraction of each set per grid point)
    scores: dict[Tuning, dict[str, float]] = {}
    for tuning in grid:
        by_set = {id(one): predictions(one, tuning) for one in loaded}
        scores[tuning] = {
            storyline: _f1(one, by_set[id(one)], ids) for storyline, (one, ids) in folds.items()
        }
    rows = []
    for storyline in sorted(folds):
        others = [s for s in folds if s != storyline]
        chosen = max(grid, key=lambda t: (sum(scores[t][s] for s in others) / len(others), t == default))
        rows.append(
            {
                "storyline": storyline,
                "articles": len(folds[storyline][1]),
                "default_f1": round(scores[default][storyline], 3),
                "held_out_f1": round(scores[chosen][storyline], 3),
                "chosen": asdict(chosen),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="a development set folder (articles.jsonl + registry.json); repeatable",
    )
    args = parser.parse_args(argv)
    pairs = args.set or [
        "ukraine=../shared/corpus",
        "trade=../shared/corpora/trade",
        "defence=../shared/corpora/defence",
    ]
    sets = []
    for pair in pairs:
        name, _, folder = pair.partition("=")
        sets.append(DevSet.from_folder(Path(folder), name).load())
    print(f"{'storyline':34} {'articles':>8} {'default F1':>10} {'held-out F1':>11}  chosen on the others")
    for row in held_out(sets):
        chosen = ", ".join(f"{k}={v}" for k, v in row["chosen"].items())
        print(
            f"{row['storyline']:34} {row['articles']:>8} {row['default_f1']:>10.3f} "
            f"{row['held_out_f1']:>11.3f}  {chosen}"
        )


if __name__ == "__main__":
    main()
