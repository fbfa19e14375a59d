"""Scoring against gold (same figures as the shared scorer), the naive floor, and coder agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app import devsets
from app.extraction.corpus import extract_corpus, read_jsonl, write_jsonl
from app.extraction.evaluation import agreement, score_by_topic, score_predictions
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


TRAP_GOLD = [
    {"id": "a1", "url": "https://example.org/a1", "gold": [
        {"actor": "alice", "topic": "t1", "label": "support", "score": 1.0, "observed_at": "2025-01-10"},
        {"actor": "bob", "topic": "t1", "label": "oppose", "score": -1.0, "observed_at": "2025-01-10"},
    ], "do_not_extract": [
        {"actor": "carol", "topic": "t1", "why": "Alice's characterisation of Carol"},
        {"actor": "bob", "topic": "t1", "why": "also gold: never a trap"},
        {"actor": "alice", "topic": "t2", "why": "a prediction, not a position"},
    ]},
    {"id": "a2", "gold": [], "do_not_extract": [{"actor": "alice", "topic": "t1", "why": "a mere mention"}]},
]  # fmt: skip
TRAP_PREDICTIONS = [
    {"article_id": "a1", "actor": "alice", "topic": "t1", "label": "support", "score": 0.5,
     "observed_at": "2025-01-20"},  # found; 0.5 off, 10 days late
    {"article_id": "a1", "actor": "bob", "topic": "t1", "label": "oppose", "score": -1.0,
     "observed_at": "2025-01-12"},  # found (and listed under do_not_extract: gold wins)
    {"article_id": "a1", "actor": "carol", "topic": "t1", "label": "oppose"},  # trap
    {"article_id": "a1", "actor": "carol", "topic": "t1", "label": "support"},  # the same trap pair
    {"article_id": "https://example.org/a1", "actor": "alice", "topic": "t2", "label": "mixed"},  # trap (by url)
    {"article_id": "a2", "actor": "alice", "topic": "t1", "label": "neutral"},  # trap
    {"article_id": "a2", "actor": "bob", "topic": "t1", "label": "support"},  # false, not listed
    {"article_id": "zz", "actor": "bob", "topic": "t1", "label": "support"},  # unknown article
]  # fmt: skip
# By hand: gold pairs 2; predicted pairs 6 (carol/t1 in a1 twice counts once), 2 found;
# strict: 7 predicted tuples, 2 found; traps: a1 carol/t1, a1 alice/t2, a2 alice/t1 (a1 bob/t1 is gold).
TRAP_EXPECTED = {
    "articles": 2,
    "pair": {"precision": 0.333, "recall": 1.0, "f1": 0.5, "found": 2, "predicted": 6, "expected": 2},
    "strict": {"precision": 0.286, "recall": 1.0, "f1": 0.444, "found": 2, "predicted": 7, "expected": 2},
    "rollup": None,
    "label_accuracy": 1.0,
    "score_mae": 0.25,
    "date_within_7d": 0.5,
    "predictions_for_unknown_articles": 1,
    "traps": 3,
}


def test_traps_counted_as_the_shared_scorer_counts_them(tmp_path: Path) -> None:
    figures = score_predictions(TRAP_GOLD, TRAP_PREDICTIONS, with_errors=True)
    assert {key: figures[key] for key in TRAP_EXPECTED} == TRAP_EXPECTED
    assert figures["errors"]["traps"] == [("a1", "alice", "t2"), ("a1", "carol", "t1"), ("a2", "alice", "t1")]
    assert figures["errors"]["missed"] == []
    assert len(figures["errors"]["false_or_mislabel"]) == 5
    # The hand-computed figures are what score.py itself prints for the same files, where it is.
    if SCORER.exists():
        gold, predictions = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
        write_jsonl(TRAP_GOLD, gold)
        write_jsonl(TRAP_PREDICTIONS, predictions)
        command = [sys.executable, str(SCORER), "--gold", str(gold), "--pred", str(predictions), "--json"]
        reference = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        assert reference == TRAP_EXPECTED


def test_figures_restricted_to_each_topic() -> None:
    topics = score_by_topic(TRAP_GOLD, TRAP_PREDICTIONS)
    assert list(topics) == ["t1", "t2"]
    t1, t2 = topics["t1"], topics["t2"]
    # t1: 2 gold tuples, 6 predicted tuples in 5 pairs (unknown article excluded), traps a1 carol, a2 alice
    assert (t1["pair"]["found"], t1["pair"]["predicted"], t1["pair"]["expected"]) == (2, 5, 2)
    assert t1["strict"] == score_predictions(TRAP_GOLD, TRAP_PREDICTIONS)["by_topic"]["t1"]
    assert t1["strict"]["f1"] == 0.5
    assert (t1["traps"], t2["traps"]) == (2, 1)
    assert t2["strict"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "found": 0,
        "predicted": 1,
        "expected": 0,
    }
    assert "by_topic" not in t1
    assert set(score_by_topic(TRAP_GOLD, [], topics=["t2"])) == {"t2"}


FLOOR_REGISTRY = {
    "actors": [],
    "topics": [
        {"slug": "parent", "name": "Parent"},
        {"slug": "child", "name": "Child", "parent": "parent"},
        {"slug": "other", "name": "Other"},
    ],
}
FLOOR_GOLD = [
    {"id": "b1", "published_at": "2025-03-01T09:00:00Z", "gold": [
        {"actor": "alice", "topic": "child", "label": "oppose", "observed_at": "2025-02-27"},
        {"actor": "bob", "topic": "parent", "label": "support", "observed_at": "2025-03-01"},
        {"actor": "alice", "topic": "other", "label": "support", "observed_at": "2025-03-01"},
    ]},
    {"id": "b2", "published_at": "2025-03-02", "gold": [
        {"actor": "carol", "topic": "other", "label": "support", "observed_at": "2025-03-02"},
        {"actor": "dave", "topic": "parent", "label": "oppose", "observed_at": "2025-03-02"},
    ]},
    {"id": "b3", "published_at": "2025-03-03", "gold": []},
]  # fmt: skip


def test_naive_floor_on_a_tiny_corpus() -> None:
    rows = list(devsets.naive_floor_predictions(FLOOR_GOLD, FLOOR_REGISTRY))
    # b1: "child" counts as "parent" (2 of 3 tuples), alice once; b2: a tie, the first topic wins
    assert [(r["article_id"], r["actor"], r["topic"], r["label"]) for r in rows] == [
        ("b1", "alice", "parent", "support"),
        ("b1", "bob", "parent", "support"),
        ("b2", "carol", "other", "support"),
        ("b2", "dave", "other", "support"),
    ]
    assert [r["observed_at"] for r in rows] == ["2025-03-01T09:00:00Z"] * 2 + ["2025-03-02"] * 2
    # 5 gold tuples, 4 predicted, 2 right (b1 bob/parent, b2 carol/other): P 0.5, R 0.4, F1 4/9
    floor = devsets.naive_floor(FLOOR_GOLD, FLOOR_REGISTRY)
    assert floor["strict"] == {
        "precision": 0.5, "recall": 0.4, "f1": 0.444, "found": 2, "predicted": 4, "expected": 5,
    }  # fmt: skip
    assert floor["pair"]["found"] == 2  # b1 alice/child and b2 dave/other are missed pairs


@pytest.mark.parametrize(("name", "expected"), [("trade", 0.477), ("defence", 0.497)])
def test_naive_floor_of_the_shared_sets_is_the_one_their_notes_give(name: str, expected: float) -> None:
    folder = Path("/work/shared/corpora") / name
    if not devsets.is_set(folder):
        pytest.skip(f"the shared development set is not at {folder}")
    loaded = devsets.DevSet.from_folder(folder).load()
    assert devsets.naive_floor(loaded.articles, loaded.registry)["strict"]["f1"] == expected


def test_score_set_adds_the_floor_and_topics() -> None:
    loaded = devsets.LoadedSet(
        devsets.DevSet("tiny", Path("a.jsonl"), Path("r.json")), FLOOR_GOLD, FLOOR_REGISTRY
    )
    predictions = [{"article_id": "b1", "actor": "alice", "topic": "child", "label": "oppose"}]
    figures = devsets.score_set(loaded, predictions)
    assert figures["strict"]["found"] == 1
    assert figures["naive_floor"]["strict"]["f1"] == 0.444
    assert list(figures["topics"]) == ["child", "other", "parent"]
    assert figures["topics"]["child"]["strict"]["f1"] == 1.0
    assert figures["topics"]["child"]["naive_floor"]["strict"]["predicted"] == 0
    assert figures["topics"]["parent"]["naive_floor"]["strict"]["found"] == 1


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
