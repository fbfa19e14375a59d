"""Scoring extracted observations against hand-coded gold, and coder agreement (pure functions).

`score_predictions` reproduces every figure of the shared scorer (`shared/eval/score.py
--json`): pair, strict and roll-up precision/recall/F1, label accuracy, score MAE, dates
within 7 days, predictions for unknown articles and traps, micro-averaged over all articles,
plus strict figures per topic and per label (and, on request, the error lists of
`--show-errors`). `score_by_topic` gives all of them restricted to each topic. `agreement` computes Cohen's kappa and Krippendorff's alpha
(nominal) for (automatic, manual) label pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

LABELS = ("support", "oppose", "neutral", "mixed")

Key = tuple[str, Any, Any]
StrictKey = tuple[str, Any, Any, str]


def as_date(value: object) -> date | None:
    """A date from an ISO date or datetime string (or None), as the shared scorer reads it."""
    if not value:
        return None
    text = str(value)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def prf(found: int, predicted: int, expected: int) -> dict[str, Any]:
    precision = found / predicted if predicted else 0.0
    recall = found / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "found": found,
        "predicted": predicted,
        "expected": expected,
    }


def state_of(registry: Mapping[str, Mapping[str, Any]], actor: Any, when: date | None) -> Any:
    """The state (or bloc) a person belonged to at `when`; other actors map to themselves."""
    info = registry.get(actor) if isinstance(actor, str) else None
    if not info or info.get("kind") != "person":
        return actor
    for membership in info.get("memberships", []):
        parent = registry.get(membership.get("parent"), {})
        if parent.get("kind") not in ("state", "bloc", "organization"):
            continue
        start, end = as_date(membership.get("from")), as_date(membership.get("to"))
        if when is None or ((start is None or start <= when) and (end is None or when <= end)):
            return membership["parent"]
    return actor


def _number(value: object) -> float:
    """A prediction's confidence as the shared scorer reads it: not a number counts as 0."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def _registry_map(registry_actors: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None) -> dict[str, Any]:
    if not registry_actors:
        return {}
    if isinstance(registry_actors, Mapping):
        if "actors" in registry_actors:
            return {a["slug"]: a for a in registry_actors["actors"]}
        return dict(registry_actors)
    return {actor["slug"]: actor for actor in registry_actors}


def score_predictions(
    gold_articles: Iterable[Mapping[str, Any]],
    predictions: Iterable[Mapping[str, Any]],
    registry_actors: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    *,
    with_errors: bool = False,
) -> dict[str, Any]:
    """The shared scorer's figures, plus `by_topic` and `by_label` strict P/R/F1.

    `gold_articles`: corpus rows with `id`, optional `url`, `gold` tuples and optional
    `do_not_extract` (actor, topic) pairs; `predictions`:
    rows with `article_id` (id or url), `actor`, `topic`, `label`, `score`, `observed_at` and
    optional `confidence`; `registry_actors`: the registry's actors (a list, a slug map, or the
    registry document) for the roll-up figure, which is None without them. Raises ValueError
    on a label outside support/oppose/neutral/mixed, as the shared scorer exits.

    `traps` counts predicted (article, actor, topic) pairs that an article lists under
    `do_not_extract` and that are not gold, whatever their label. `with_errors` adds `errors`:
    the sorted `missed`, `false_or_mislabel` and `traps` keys that `score.py --show-errors` prints.
    """
    corpus = list(gold_articles)
    registry = _registry_map(registry_actors)
    key_of: dict[str, str] = {}
    for article in corpus:
        key_of[str(article["id"])] = str(article["id"])
        if article.get("url"):
            key_of[str(article["url"])] = str(article["id"])

    gold: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    for article in corpus:
        for item in article.get("gold", []):
            gold[(str(article["id"]), item["actor"], item["topic"])].append(item)

    predicted: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    unknown = 0
    for row in predictions:
        article_id = key_of.get(str(row.get("article_id")))
        if article_id is None:
            unknown += 1
            continue
        label = str(row.get("label", "")).lower()
        if label not in LABELS:
            raise ValueError(f"prediction with label {label!r}: expected one of {sorted(LABELS)}")
        predicted[(article_id, row.get("actor"), row.get("topic"))].append({**row, "label": label})

    traps = {
        (str(article["id"]), item["actor"], item["topic"])
        for article in corpus
        for item in article.get("do_not_extract", [])
    } - set(gold)
    pair_found = set(gold) & set(predicted)
    strict_gold: set[StrictKey] = {(*key, item["label"]) for key, items in gold.items() for item in items}
    strict_pred: set[StrictKey] = {
        (*key, item["label"]) for key, items in predicted.items() for item in items
    }
    strict_found = strict_gold & strict_pred

    def rolled(keys: set[StrictKey], source: Mapping[Key, Sequence[Mapping[str, Any]]]) -> set[StrictKey]:
        out: set[StrictKey] = set()
        for article, actor, topic, label in keys:
            when = next((as_date(i.get("observed_at")) for i in source[(article, actor, topic)]), None)
            out.add((article, state_of(registry, actor, when), topic, label))
        return out

    label_right = date_right = dated = 0
    score_errors: list[float] = []
    for key in pair_found:
        gold_labels = {item["label"] for item in gold[key]}
        best = max(predicted[key], key=lambda item: _number(item.get("confidence")))
        label_right += best["label"] in gold_labels
        gold_scores = [float(item["score"]) for item in gold[key] if item.get("score") is not None]
        if gold_scores and best.get("score") is not None:
            score_errors.append(min(abs(float(best["score"]) - s) for s in gold_scores))
        gold_dates = [as_date(item.get("observed_at")) for item in gold[key] if item.get("observed_at")]
        predicted_dates = [as_date(item.get("observed_at")) for item in predicted[key]]
        if gold_dates:
            dated += 1
            date_right += any(
                p is not None and g is not None and abs((p - g).days) <= 7
                for p in predicted_dates
                for g in gold_dates
            )

    rollup = None
    if registry:
        rollup_gold, rollup_pred = rolled(strict_gold, gold), rolled(strict_pred, predicted)
        rollup = prf(len(rollup_gold & rollup_pred), len(rollup_pred), len(rollup_gold))
    figures: dict[str, Any] = {
        "articles": len(corpus),
        "pair": prf(len(pair_found), len(predicted), len(gold)),
        "strict": prf(len(strict_found), len(strict_pred), len(strict_gold)),
        "rollup": rollup,
        "label_accuracy": round(label_right / len(pair_found), 3) if pair_found else 0.0,
        "score_mae": round(sum(score_errors) / len(score_errors), 3) if score_errors else None,
        "date_within_7d": round(date_right / dated, 3) if dated else None,
        "predictions_for_unknown_articles": unknown,
        "traps": len(traps & set(predicted)),
        "by_topic": _breakdown(strict_gold, strict_pred, position=2),
        "by_label": _breakdown(strict_gold, strict_pred, position=3),
    }
    if with_errors:
        figures["errors"] = {
            "missed": sorted(strict_gold - strict_pred, key=_sort_key),
            "false_or_mislabel": sorted(strict_pred - strict_gold, key=_sort_key),
            "traps": sorted(traps & set(predicted), key=_sort_key),
        }
    return figures


def score_by_topic(
    gold_articles: Iterable[Mapping[str, Any]],
    predictions: Iterable[Mapping[str, Any]],
    registry_actors: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    *,
    topics: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """`score_predictions` restricted to each topic: the gold tuples, `do_not_extract` pairs and
    predictions of that topic only (so `strict` equals `by_topic[topic]`), without the nested
    `by_topic`/`by_label`. `topics`: which ones (default: every topic of a gold tuple or a
    prediction, sorted)."""
    corpus = list(gold_articles)
    rows = list(predictions)
    if topics is None:
        topics = sorted(
            {str(item["topic"]) for article in corpus for item in article.get("gold", [])}
            | {str(row.get("topic")) for row in rows}
        )
    out: dict[str, dict[str, Any]] = {}
    for topic in topics:
        restricted = [
            {
                **article,
                "gold": [item for item in article.get("gold", []) if str(item["topic"]) == topic],
                "do_not_extract": [
                    item for item in article.get("do_not_extract", []) if str(item["topic"]) == topic
                ],
            }
            for article in corpus
        ]
        figures = score_predictions(
            restricted, [row for row in rows if str(row.get("topic")) == topic], registry_actors
        )
        del figures["by_topic"], figures["by_label"]
        out[topic] = figures
    return out


def _breakdown(gold: set[StrictKey], predicted: set[StrictKey], position: int) -> dict[str, Any]:
    """Strict P/R/F1 restricted to each value of one key field (topic or label)."""
    values = sorted({str(k[position]) for k in gold | predicted})
    out: dict[str, Any] = {}
    for value in values:
        g = {k for k in gold if str(k[position]) == value}
        p = {k for k in predicted if str(k[position]) == value}
        out[value] = prf(len(g & p), len(p), len(g))
    return out


def agreement(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Cohen's kappa and Krippendorff's alpha (nominal) for (automatic, manual) label pairs.

    Returns `n`, `observed` agreement, `kappa` and `alpha`. Both coefficients are None when
    undefined (no pairs, or chance agreement is total, e.g. a single category throughout).
    """
    n = len(pairs)
    if n == 0:
        return {"n": 0, "observed": None, "kappa": None, "alpha": None}
    observed = sum(a == b for a, b in pairs) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first.keys() | second.keys()) / (n * n)
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)

    # Krippendorff's alpha, nominal, two coders, no missing values: coincidence matrix.
    totals = Counter([a for a, _ in pairs] + [b for _, b in pairs])
    values = 2 * n
    disagreement_observed = sum(a != b for a, b in pairs) * 2 / values
    disagreement_expected = (values * values - sum(t * t for t in totals.values())) / (values * (values - 1))
    alpha = None if disagreement_expected == 0 else 1 - disagreement_observed / disagreement_expected
    return {
        "n": n,
        "observed": round(observed, 4),
        "kappa": None if kappa is None else round(kappa, 4),
        "alpha": None if alpha is None else round(alpha, 4),
    }
