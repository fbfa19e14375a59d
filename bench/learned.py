"""The learned engine against the rules, each storyline held out, and a deployment's learning curve.

  python -m bench.learned [--sets DIR ...] [--sweep] [--json PATH]

held out   For every storyline group of the development sets (a record's `storyline`; a set
           without one is a single group), a claim model is trained on every other group and
           extracts the held-out group's articles; each set's held-out predictions are scored
           together with the shared scorer's definitions, next to the rules engine's figures.
learning   A deployment on a held-out set: the default model is trained on the other sets; the
           set's articles in date order are split into a review pool (even positions) and a test
           half (odd positions). For N = 0, 5, 10, 20 reviewed articles, the reviewer (the gold)
           verifies or corrects what the learned engine extracted from the first N pool
           articles, rejects the rest and codes what it missed; a local model is trained
           (`model_training`'s recipe: shipped data plus reviews weighted LOCAL_WEIGHT, local
           features) and the test half is scored, with the model `stanceline train` would leave
           in use (the new one only when it scores better on the reviewed articles, k-fold) and
           with the new one regardless; in date order, and averaged over SHUFFLES random orders.
           N = 40 needs 80 articles; the largest set has 40.
training   Seconds to train the shipped model on every set, and its file's size.
--sweep    The held-out figures for several regularisation values (how REGULARISATION was chosen).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app import devsets
from app.devsets import LoadedSet
from app.extraction import evaluation, training
from app.extraction.claim_model import ClaimModel
from app.extraction.corpus import parse_article
from app.extraction.learned import LearnedExtractor
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import RegistrySnapshot
from app.model_training import LOCAL_WEIGHT

ROOT = Path(__file__).resolve().parent.parent
CURVE = (0, 5, 10, 20)
SHUFFLES = 4


def group_of(loaded: LoadedSet, article: Mapping[str, Any]) -> str:
    return f"{loaded.name}/{article.get('storyline') or 'all'}"


def predictions(
    loaded: LoadedSet, articles: Iterable[Mapping[str, Any]], model: ClaimModel | None
) -> list[dict[str, Any]]:
    """Prediction rows of the learned engine with `model` (None: the rules engine)."""
    snapshot = RegistrySnapshot.from_dict(loaded.registry)
    extractor = PipelineExtractor(snapshot) if model is None else LearnedExtractor(snapshot, model)
    rows = []
    for number, article in enumerate(articles, 1):
        key, text = parse_article(article, number)
        for o in extractor.extract(text):
            rows.append(
                {"article_id": key, "actor": o.actor, "topic": o.topic, "label": o.label, "score": o.score,
                 "confidence": o.confidence, "observed_at": o.observed_at.isoformat()}
            )  # fmt: skip
    return rows


def strict(
    loaded: LoadedSet, articles: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    figures = evaluation.score_predictions(articles, rows, loaded.registry)
    return {"strict": figures["strict"], "traps": figures["traps"]}


def held_out(sets: Sequence[LoadedSet], data: training.TrainingSet, regularisation: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for loaded in sets:
        rows: list[dict[str, Any]] = []
        groups = sorted({group_of(loaded, a) for a in loaded.articles})
        for group in groups:
            model = training.fit(data.only(lambda e, g=group: e.group != g), regularisation=regularisation)  # type: ignore[misc]
            rows += predictions(loaded, [a for a in loaded.articles if group_of(loaded, a) == group], model)
        out[loaded.name] = {
            "groups": groups,
            "rules": strict(loaded, loaded.articles, predictions(loaded, loaded.articles, None)),
            "learned": strict(loaded, loaded.articles, rows),
        }
    return out


def learning_curve(
    sets: Sequence[LoadedSet],
    data: training.TrainingSet,
    deployment: str,
    points: Sequence[int] = CURVE,
    *,
    shuffle: int | None = None,
) -> dict[str, Any]:
    """Strict F1 on the test half of `deployment` after N reviewed articles (see the module):
    `used`, the model `stanceline train` leaves in use (the new one only when it is better on the
    reviewed articles), and `retrained`, the new one whatever it scored. `shuffle`: split a
    random order (that seed) instead of the date order."""
    loaded = next(s for s in sets if s.name == deployment)
    shipped = data.only(lambda e: not e.article.startswith(f"{deployment}/"))
    ordered = sorted(loaded.articles, key=lambda a: (str(a.get("published_at")), str(a["id"])))
    if shuffle is not None:
        random.Random(shuffle).shuffle(ordered)
    pool, test = ordered[0::2], ordered[1::2]
    default = training.fit(shipped)
    reader = LearnedExtractor(RegistrySnapshot.from_dict(loaded.registry), default)
    curve: dict[str, Any] = {"pool": len(pool), "test": len(test), "used": {}, "retrained": {}}
    curve["rules"] = strict(loaded, test, predictions(loaded, test, None))["strict"]["f1"]
    for reviewed in points:
        if reviewed > len(pool):
            curve["used"][str(reviewed)] = curve["retrained"][str(reviewed)] = None
            continue
        if reviewed == 0:
            f1 = strict(loaded, test, predictions(loaded, test, default))["strict"]["f1"]
            curve["used"]["0"] = curve["retrained"]["0"] = f1
            continue
        retrained = training.retrain(shipped, _reviews(reader, pool[:reviewed], deployment), default)
        f1 = strict(loaded, test, predictions(loaded, test, retrained.model))["strict"]["f1"]
        curve["retrained"][str(reviewed)] = f1
        curve["used"][str(reviewed)] = f1 if retrained.better else curve["used"]["0"]
    return curve


def _reviews(
    reader: LearnedExtractor, reviewed: Sequence[Mapping[str, Any]], name: str
) -> training.TrainingSet:
    """What a reviewer who codes as the gold does with what `reader` extracted from `reviewed`:
    verifies or corrects what it coded, rejects the rest, codes what it missed."""
    local = training.TrainingSet()
    for number, article in enumerate(reviewed, 1):
        key, text = parse_article(article, number)
        coded = {(str(g["actor"]), str(g["topic"]), str(g["label"])) for g in article.get("gold") or ()}
        shown = {(o.actor, o.topic, str(o.label)) for o in reader.extract(text)}
        local.extend(
            training.article_examples(
                reader,
                text,
                article=f"{name}/{key}",
                group=f"{name}/{key}",
                coded=coded,
                rejected=shown - coded,
                weight=LOCAL_WEIGHT,
            )
        )
    return local


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", action="append", type=Path, default=[])
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    found = [s for folder in args.sets for s in devsets.sets_in(folder)] or devsets.shared_sets([ROOT])[0]
    if not found:
        raise SystemExit("no development sets: pass --sets DIR")
    sets = [s.load() for s in found]
    started = time.perf_counter()
    data = training.TrainingSet()
    for loaded in sets:
        data.extend(devsets.training_set(loaded))
    shipped = training.fit(data)
    seconds = time.perf_counter() - started
    report: dict[str, Any] = {
        "training_seconds": round(seconds, 2),
        "model_bytes": len(shipped.to_bytes()),
        "held_out": held_out(sets, data, training.REGULARISATION),
        "learning": {s.name: learning_curve(sets, data, s.name) for s in sets},
        "learning_shuffled": {
            s.name: [learning_curve(sets, data, s.name, shuffle=seed) for seed in range(SHUFFLES)]
            for s in sets
        },
    }
    if args.sweep:
        report["sweep"] = {
            str(c): {k: v["learned"]["strict"]["f1"] for k, v in held_out(sets, data, c).items()}
            for c in (0.03, 0.1, 0.3, 1.0, 3.0)
        }
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def _cells(points: Mapping[str, float | None]) -> str:
    return " ".join(f"{p:>7.3f}" if (p := points[str(n)]) is not None else f"{'n/a':>7}" for n in CURVE)


def _print(report: Mapping[str, Any]) -> None:
    print(f"training on every set: {report['training_seconds']} s; model file {report['model_bytes']} bytes")
    print(
        f"\n{'set (storylines held out)':28} {'rules F1':>9} {'learned F1':>11} {'rules P/R':>12} {'learned P/R':>12}"
    )
    for name, row in report["held_out"].items():
        r, m = row["rules"]["strict"], row["learned"]["strict"]
        print(
            f"{name:28} {r['f1']:>9.3f} {m['f1']:>11.3f} {r['precision']:>5.3f}/{r['recall']:.3f}"
            f" {m['precision']:>5.3f}/{m['recall']:.3f}"
        )
    print(f"\n{'deployment (test half)':34} {'rules':>7} " + " ".join(f"{'N=' + str(n):>7}" for n in CURVE))
    for name, curve in report["learning"].items():
        for kind in ("used", "retrained"):
            print(f"{name + ', date order, ' + kind:34} {curve['rules']:>7.3f} " + _cells(curve[kind]))
    for name, curves in report["learning_shuffled"].items():
        for kind in ("used", "retrained"):
            mean = {
                str(n): None
                if any(c[kind][str(n)] is None for c in curves)
                else sum(c[kind][str(n)] for c in curves) / len(curves)
                for n in CURVE
            }
            rules = sum(c["rules"] for c in curves) / len(curves)
            print(f"{name + f', {len(curves)} orders, ' + kind:34} {rules:>7.3f} " + _cells(mean))
    for c, row in (report.get("sweep") or {}).items():
        print(f"C={c}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))


if __name__ == "__main__":
    main()
