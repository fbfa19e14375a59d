"""Scoring against gold (same figures as the shared scorer) and coder agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.extraction.corpus import extract_corpus, read_jsonl, write_jsonl
from app.extraction.evaluation import agreement, score_predictions
from app.extraction.types import RegistrySnapshot

SCORER = Path("/work/shared/eval/score.py")
CORPUS = Path("/work/shared/corpus/articles.jsonl")
REGISTRY = Path("/work/shared/corpus/registry.json")


def test_identical_headline_figures_to_the_shared_scorer(tmp_path: Path) -> None:
    if not (SCORER.exists() and CORPUS.exists() and REGISTRY.exists()):
        pytest.skip(f"shared scorer or corpus not found at {SCORER.parent.parent}")
    registry = json.loads(REGISTRY.read_text(encoding="utf-8"))
    gold = read_jsonl(CORPUS)
    predictions = list(extract_corpus(gold, RegistrySnapshot.from_dict(registry)))
    path = tmp_path / "pred.jsonl"
    write_jsonl(predictions, path)
    command = [
        sys.executable,
        str(SCORER),
        "--gold",
        str(CORPUS),
        "--pred",
        str(path),
        "--registry",
        str(REGISTRY),
    ]
    reference = json.loads(
        subprocess.run([*command, "--json"], capture_output=True, text=True, check=True).stdout
    )
    ours = score_predictions(gold, predictions, registry["actors"])
    assert {key: ours[key] for key in reference} == reference
    assert set(ours["by_label"]) <= {"support", "oppose", "neutral", "mixed"}


GOLD = [
    {"id": "x1", "url": "https://example.org/x1", "gold": [
        {"actor": "keir-starmer", "topic": "t1", "label": "support", "score": 1.0, "observed_at": "2025-02-16"},
        {"actor": "russia", "topic": "t1", "label": "oppose", "score": -1.0, "observed_at": "2025-02-17"},
    ]},
    {"id": "x2", "gold": []},
]  # fmt: skip
ACTORS = [
    {"slug": "keir-starmer", "kind": "person", "memberships": [{"parent": "united-kingdom", "from": None}]},
    {"slug": "united-kingdom", "kind": "state", "memberships": []},
    {"slug": "russia", "kind": "state", "memberships": []},
]


def test_small_example_by_hand() -> None:
    predictions = [
        {"article_id": "https://example.org/x1", "actor": "keir-starmer", "topic": "t1", "label": "support",
         "score": 0.5, "observed_at": "2025-02-20"},
        {"article_id": "x1", "actor": "russia", "topic": "t1", "label": "mixed", "score": 0.0,
         "observed_at": "2025-03-17"},
        {"article_id": "x2", "actor": "russia", "topic": "t1", "label": "oppose", "score": -1.0},
        {"article_id": "nope", "actor": "russia", "topic": "t1", "label": "oppose"},
    ]  # fmt: skip
    figures = score_predictions(GOLD, predictions, ACTORS)
    assert figures["pair"] == {
        "precision": 0.667,
        "recall": 1.0,
        "f1": 0.8,
        "found": 2,
        "predicted": 3,
        "expected": 2,
    }
    assert (figures["strict"]["found"], figures["strict"]["predicted"]) == (1, 3)
    assert figures["rollup"]["found"] == 1
    assert figures["label_accuracy"] == 0.5
    assert figures["score_mae"] == 0.75
    assert figures["date_within_7d"] == 0.5
    assert figures["predictions_for_unknown_articles"] == 1
    assert figures["by_label"]["support"]["f1"] == 1.0
    assert figures["by_label"]["oppose"] == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "found": 0, "predicted": 1, "expected": 1,
    }  # fmt: skip
    assert figures["by_topic"]["t1"]["found"] == 1
    assert score_predictions(GOLD, predictions)["rollup"] is None


def test_unknown_label_is_rejected() -> None:
    with pytest.raises(ValueError, match="label 'maybe'"):
        score_predictions(GOLD, [{"article_id": "x1", "actor": "a", "topic": "t", "label": "maybe"}])


def test_agreement_hand_computed() -> None:
    # observed 0.75; chance (3*2 + 1*2) / 16 = 0.5 -> kappa 0.5;
    # alpha: 8 values (a: 5, b: 3), one disagreeing unit -> 1 - 7 * 2 / (2 * 5 * 3) = 0.5333
    result = agreement([("a", "a"), ("a", "a"), ("a", "b"), ("b", "b")])
    assert result == {"n": 4, "observed": 0.75, "kappa": 0.5, "alpha": 0.5333}


def test_agreement_textbook_kappa() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5 -> kappa 0.4
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    result = agreement(pairs)
    assert result["kappa"] == 0.4
    # alpha: yes 55, no 45 of 100 values; 15 disagreeing units -> 1 - 99 * 30 / (2 * 55 * 45) = 0.4
    assert result["alpha"] == 0.4


def test_agreement_edge_cases() -> None:
    assert agreement([]) == {"n": 0, "observed": None, "kappa": None, "alpha": None}
    perfect = agreement([("support", "support"), ("oppose", "oppose")])
    assert (perfect["kappa"], perfect["alpha"]) == (1.0, 1.0)
    single = agreement([("support", "support")] * 3)
    assert (single["observed"], single["kappa"], single["alpha"]) == (1.0, None, None)
