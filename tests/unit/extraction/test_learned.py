"""The learned engine, the claim model file and training, on the invented town of Lakeford."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import pytest

from app.extraction import build_extractor, training
from app.extraction.claim_model import (
    DEFAULT_MODEL_PATH,
    ClaimModel,
    ModelFormatError,
    default_model,
    rules_equivalent,
)
from app.extraction.features import LOCAL
from app.extraction.learned import LearnedExtractor
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import ArticleText
from tests.unit.extraction import lakeford

ARTICLE = (
    "Mayor Clara Voss said on Monday that she backed the congestion charge and would defend it in the council.",
    "The Transit Workers Union rejected the congestion charge, saying it would hurt shift workers.",
    "The Greens have long called for a ban on plastic bags.",
    "Coastal Action Network said the congestion charge was mentioned in its newsletter.",
)


def _text(*paragraphs: str) -> ArticleText:
    return ArticleText(text="\n\n".join(paragraphs), published_at=lakeford.PUBLISHED)


def test_a_model_as_the_rules_codes_what_the_rules_code() -> None:
    rules = lakeford.extract(PipelineExtractor(lakeford.SNAPSHOT), *ARTICLE)
    learned = lakeford.extract(LearnedExtractor(lakeford.SNAPSHOT, rules_equivalent()), *ARTICLE)
    assert lakeford.keys(learned) == lakeford.keys(rules)
    assert lakeford.keys(rules) >= {
        ("clara-voss", lakeford.CHARGE, "support"),
        ("transit-union", lakeford.CHARGE, "oppose"),
    }


def test_the_model_hash_ends_the_version_and_is_on_every_observation() -> None:
    model = default_model()
    extractor = build_extractor(lakeford.SNAPSHOT, "learned")
    assert isinstance(extractor, LearnedExtractor)
    assert extractor.method == "model"
    assert extractor.version.endswith("+" + model.short)
    assert len(model.sha) == 64
    found = lakeford.extract(extractor, *ARTICLE)
    assert found
    assert all(o.extras["model"] == model.short for o in found)
    # the probability is the confidence
    assert all(0.01 <= o.confidence <= 0.99 for o in found)


def test_a_snapshot_carries_its_deployment_model() -> None:
    model = ClaimModel(weights={"speaker": 0.5}, intercept=0.1, keep_read=0.2, keep_other=1.01)
    snapshot = replace(lakeford.SNAPSHOT, claim_model=model)
    extractor = build_extractor(snapshot, "learned")
    assert isinstance(extractor, LearnedExtractor)
    assert extractor.model == model
    assert extractor.version.endswith(model.short)
    assert build_extractor(lakeford.SNAPSHOT, "learned").version.endswith(default_model().short)


def test_model_files_round_trip_byte_for_byte() -> None:
    model = ClaimModel(
        weights={"b": -0.25, "a": 1.5, "zero": 0.0},
        intercept=-0.3,
        keep_read=0.1,
        keep_other=0.6,
        local=True,
        trained={"examples": 3},
    )
    again = ClaimModel.from_bytes(model.to_bytes())
    assert again.to_bytes() == model.to_bytes()
    assert again.sha == model.sha
    assert "zero" not in again.weights  # zero weights are not written
    assert again.probability({"a": 1.0}) == pytest.approx(1 / (1 + 2.718281828459045**-(1.2)))
    assert again.keeps(0.15, as_read=True)
    assert not again.keeps(0.55, as_read=False)


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"format": "something-else"}', b'{"format": "stanceline-claim-model/1", "weights": 3}'],
)
def test_a_file_that_is_not_a_model_is_refused(body: bytes) -> None:
    with pytest.raises(ModelFormatError):
        ClaimModel.from_bytes(body)


def test_the_shipped_model_is_small_and_general() -> None:
    assert DEFAULT_MODEL_PATH.stat().st_size < 5 * 1024 * 1024
    model = default_model()
    assert not model.local
    # no word and no deployment feature: the shipped model knows no topic
    assert not [name for name in model.weights if "=" in name or name.startswith(LOCAL)]
    examples = training.read_examples()
    assert examples.examples
    assert not any(name.startswith(LOCAL) for e in examples.examples for name in e.features)


# --- training on readings of Lakeford articles ----------------------------------------------


def _coded_articles() -> training.TrainingSet:
    """Twelve short articles, coded by hand: who holds which position."""
    extractor = LearnedExtractor(lakeford.SNAPSHOT, rules_equivalent())
    people = [
        ("Mayor Clara Voss", "clara-voss"),
        ("The Transit Workers Union", "transit-union"),
        ("The Lakeford Chamber of Commerce", "chamber-of-commerce"),
    ]
    data = training.TrainingSet()
    for n in range(12):
        speaker, slug = people[n % 3]
        verb, label = ("backed", "support") if n % 2 else ("rejected", "oppose")
        text = _text(
            f"{speaker} {verb} the congestion charge on Monday.",
            "Coastal Action Network said the congestion charge was discussed at its meeting.",
        )
        data.extend(
            training.article_examples(
                extractor,
                text,
                article=f"lakeford/{n}",
                group=f"lakeford/{n % 4}",
                coded={(slug, lakeford.CHARGE, label)},
            )
        )
    return data


def test_training_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    data = _coded_articles()
    assert {e.truth for e in data.examples} == {True, False}
    first, second = training.fit(data, seed=0), training.fit(data, seed=0)
    assert first.to_bytes() == second.to_bytes()
    training.write_examples(data, tmp_path / "a.jsonl.gz")
    training.write_examples(data, tmp_path / "b.jsonl.gz")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    back = training.read_examples(tmp_path / "a.jsonl.gz")
    assert len(back.examples) == len(data.examples)
    assert back.coded == data.coded
    with gzip.open(tmp_path / "a.jsonl.gz") as lines:
        assert not any(LOCAL.encode() in line for line in lines)


def test_training_needs_both_kinds_of_reading() -> None:
    data = _coded_articles()
    only_claims = data.only(lambda e: bool(e.truth))
    with pytest.raises(ValueError, match="both kinds"):
        training.fit(only_claims)


def _examples(probabilities: list[tuple[str, bool, bool]]) -> list[training.Example]:
    return [
        training.Example(
            article="a",
            group="g",
            actor=actor,
            topic="t",
            label="support",
            as_read=as_read,
            features={},
            truth=truth,
        )
        for actor, as_read, truth in probabilities
    ]


def test_each_kind_of_reading_passes_its_own_threshold() -> None:
    examples = _examples([("x", True, True), ("y", False, False), ("z", False, True)])
    data = training.TrainingSet(examples, {"a": {("x", "t", "support"), ("z", "t", "support")}})
    probabilities = {0: 0.4, 1: 0.9, 2: 0.5}
    # the uncued ones wait for the higher threshold; the read one needs only its own
    assert training.kept(data, probabilities, keep_read=0.3, keep_other=0.95) == [0]
    assert training.kept(data, probabilities, keep_read=0.45, keep_other=0.45) == [1, 2]
    assert training.kept(data, probabilities, keep_read=0.3, keep_other=0.45) == [0, 1, 2]
    figures = training.strict_f1(data, [0, 2])
    assert (figures["found"], figures["predicted"], figures["expected"]) == (2, 2, 2)
    figures = training.strict_f1(data, [0, 1, 2])  # the kept uncued one the coder did not code is false
    assert (figures["found"], figures["predicted"], figures["expected"]) == (2, 3, 2)


def test_reviews_teach_a_local_model_what_this_deployment_rejects() -> None:
    """A deployment whose reviewers always reject one organisation's mentions of a topic: the
    local model learns to drop them, and keeps what reviewers confirmed."""
    extractor = LearnedExtractor(lakeford.SNAPSHOT, rules_equivalent())
    shipped = training.without_local(_coded_articles())
    local = training.TrainingSet()
    for n in range(10):
        text = _text(
            f"Mayor Clara Voss {'backed' if n % 2 else 'praised'} the congestion charge on day {n + 1}.",
            f"The Lakeford Chamber of Commerce welcomed the congestion charge in a note to {n + 2} members.",
        )
        local.extend(
            training.article_examples(
                extractor,
                text,
                article=f"review/{n}",
                group=f"review/{n}",
                coded={("clara-voss", lakeford.CHARGE, "support")},
                rejected={("chamber-of-commerce", lakeford.CHARGE, "support")},
                weight=3.0,
            )
        )
    assert {e.actor for e in local.examples if e.truth is False} == {"chamber-of-commerce"}
    retrained = training.retrain(shipped, local, rules_equivalent())
    assert retrained.model.local
    assert retrained.after["f1"] > retrained.before["f1"]
    assert not retrained.better  # ten reviewed articles are too few to replace the model in use
    assert retrained.verdict.startswith("too few reviewed articles")
    new_article = (
        "Mayor Clara Voss backed the congestion charge again on Friday.",
        "The Lakeford Chamber of Commerce welcomed the congestion charge in a letter.",
    )
    before = lakeford.keys(
        lakeford.extract(LearnedExtractor(lakeford.SNAPSHOT, rules_equivalent()), *new_article)
    )
    after = lakeford.keys(
        lakeford.extract(LearnedExtractor(lakeford.SNAPSHOT, retrained.model), *new_article)
    )
    assert ("chamber-of-commerce", lakeford.CHARGE, "support") in before
    assert ("chamber-of-commerce", lakeford.CHARGE, "support") not in after
    assert ("clara-voss", lakeford.CHARGE, "support") in after
