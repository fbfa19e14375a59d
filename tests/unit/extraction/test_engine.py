from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.extraction import ENGINES, build_extractor
from app.extraction.corpus import PREDICTION_KEYS, extract_corpus, read_jsonl, write_jsonl
from app.extraction.types import ArticleText, RegistrySnapshot

PUBLISHED = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)  # a Wednesday
TEXT = (
    "OSLO, March 12 (Test Wire) - Sergei Lavrov said on Monday that troops from NATO countries in Ukraine "
    "would be unacceptable.\n\n"
    "He repeated that Moscow would never accept foreign soldiers in Ukraine, speaking to reporters.\n\n"
    "President Donald Trump said on Tuesday he might send Tomahawks to Ukraine."
)


def test_build_extractor_is_cached_per_snapshot(registry: RegistrySnapshot) -> None:
    first = build_extractor(registry)
    again = build_extractor(RegistrySnapshot.from_dict({"actors": [], "topics": []}))
    assert build_extractor(registry) is first
    assert again is not first
    assert (first.method, first.version) == ("rules", "rules-0.2.0")
    assert ENGINES[0] == "rules"


def test_unknown_engine_is_rejected(registry: RegistrySnapshot) -> None:
    with pytest.raises(ValueError, match="unknown extraction engine 'llm'"):
        build_extractor(registry, "llm")


def test_one_observation_per_actor_topic_date(registry: RegistrySnapshot) -> None:
    observations = build_extractor(registry).extract(ArticleText(text=TEXT, published_at=PUBLISHED))
    keys = [(o.actor, o.topic, o.observed_at) for o in observations]
    assert len(keys) == len(set(keys))
    lavrov = [o for o in observations if o.actor == "sergey-lavrov"]
    assert len(lavrov) == 1
    assert lavrov[0].observed_at == date(2025, 3, 10)
    assert lavrov[0].label == "oppose"
    assert lavrov[0].score == -1.0
    for observation in observations:
        assert TEXT[observation.evidence_start : observation.evidence_end] == observation.evidence
        assert 0.0 <= observation.confidence <= 1.0


def test_tomahawk_remark_is_tentative_support_on_the_child_topic(registry: RegistrySnapshot) -> None:
    observations = build_extractor(registry).extract(ArticleText(text=TEXT, published_at=PUBLISHED))
    trump = [o for o in observations if o.actor == "donald-trump"]
    assert [(o.topic, o.label, o.score, o.observed_at) for o in trump] == [
        ("tomahawk-missiles-ukraine", "support", 0.5, date(2025, 3, 11))
    ]


def test_article_without_the_topic_anchor_yields_nothing(registry: RegistrySnapshot) -> None:
    text = "Trump said troops would deploy to Los Angeles. Merz said troops must rally."
    assert build_extractor(registry).extract(ArticleText(text=text, published_at=PUBLISHED)) == []


def test_extract_corpus_output_shape(registry: RegistrySnapshot, tmp_path: Path) -> None:
    articles = [
        {"url": "https://example.org/x", "published_at": "2025-03-12T08:00:00Z", "text": TEXT, "gold": []},
    ]
    rows = list(extract_corpus(articles, registry))
    assert rows
    for row in rows:
        assert tuple(row) == PREDICTION_KEYS
        assert row["article_id"] == "https://example.org/x"
        assert row["label"] in {"support", "oppose", "neutral", "mixed"}
        assert -1.0 <= row["score"] <= 1.0
        date.fromisoformat(row["observed_at"])
    path = tmp_path / "pred.jsonl"
    assert write_jsonl(rows, path) == len(rows)
    assert read_jsonl(path) == rows


def test_bad_input_names_line_and_field(registry: RegistrySnapshot, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a"}\n\nnot json\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:3"):
        read_jsonl(path)
    with pytest.raises(ValueError, match="'published_at'"):
        list(extract_corpus([{"id": "a", "text": "x"}], registry))
    with pytest.raises(ValueError, match="'id'"):
        list(extract_corpus([{"text": "x", "published_at": "2025-01-01"}], registry))
