"""The staged extractor as a whole: engine selection and caching, the stages over one article,
whole articles, and batch extraction in the `articles.jsonl` format."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.extraction import ENGINES, build_extractor, resolve_engine
from app.extraction.corpus import PREDICTION_KEYS, extract_corpus, read_jsonl, write_jsonl
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import ArticleText, RegistrySnapshot
from tests.unit.extraction.lakeford import CHARGE, PUBLISHED, REGISTRY, WIND, extract, one

ARTICLE = (
    "LAKEFORD, May 14 (Test Wire) - Lakeford City Council voted on Tuesday to introduce a congestion "
    "charge for central Lakeford from next spring.\n\n"
    "Mayor Clara Voss said the charge was necessary.\n\n"
    "The Lakeford Chamber of Commerce warned against the congestion charge, saying it would hurt "
    "small shops.\n\n"
    "The Transit Workers Union said it would study the plan before taking a position."
)


def test_build_extractor_is_cached_per_snapshot(registry: RegistrySnapshot) -> None:
    first = build_extractor(registry)
    assert build_extractor(RegistrySnapshot.from_dict(REGISTRY)) is first  # an equal snapshot
    assert build_extractor(RegistrySnapshot.from_dict({"actors": [], "topics": []})) is not first
    assert isinstance(first, PipelineExtractor)
    assert first.method == "rules"
    assert first.version.startswith("pipeline-")
    assert ENGINES[0] == "rules"


def test_unknown_engine_is_rejected(registry: RegistrySnapshot) -> None:
    with pytest.raises(ValueError, match="unknown extraction engine 'oracle'"):
        build_extractor(registry, "oracle")
    with pytest.raises(ValueError, match="unknown extraction engine 'oracle'"):
        resolve_engine("oracle")
    with pytest.raises(ValueError, match="needs an endpoint"):  # known, but no endpoint configured
        build_extractor(registry, "llm")
    assert resolve_engine("rules") == "rules"


def test_the_stages_fill_the_document(extractor: PipelineExtractor) -> None:
    doc = extractor.prepare(ArticleText(text=ARTICLE, published_at=PUBLISHED))
    assert len(doc.sentences) == len(doc.dates) == len(doc.mentions) == len(doc.topic_hits) == 4
    assert [[m.slug for m in mentions] for mentions in doc.mentions] == [
        ["lakeford-council"],
        ["clara-voss"],
        ["chamber-of-commerce"],
        ["transit-union"],
    ]
    assert [{h.topic for h in hits} for hits in doc.topic_hits] == [{CHARGE}, set(), {CHARGE}, set()]
    assert doc.focus == {CHARGE: 1.0}
    assert doc.lead_day == date(2025, 5, 13)
    assert doc.parses == {}  # parsing is the next stage
    extractor.parse(doc)
    assert sorted(doc.parses) == [0, 1, 2, 3]
    assert doc.parse_offsets[0] == ARTICLE.index("Lakeford City Council")  # the dateline is not parsed


def test_a_whole_article(extractor: PipelineExtractor) -> None:
    found = extract(extractor, ARTICLE)
    assert sorted((o.actor, o.topic, o.label, o.observed_at) for o in found) == [
        ("chamber-of-commerce", CHARGE, "oppose", date(2025, 5, 13)),
        ("clara-voss", CHARGE, "support", date(2025, 5, 13)),
        ("lakeford-council", CHARGE, "support", date(2025, 5, 13)),
        ("transit-union", CHARGE, "neutral", date(2025, 5, 13)),
    ]
    council = one(found, "lakeford-council", CHARGE)
    assert council.evidence.startswith("LAKEFORD, May 14 (Test Wire) - Lakeford City Council voted")
    assert one(found, "clara-voss", CHARGE).speaker == "Clara Voss"
    keys = [(o.actor, o.topic, o.observed_at) for o in found]
    assert len(keys) == len(set(keys))


def test_an_article_about_other_things_gives_nothing(extractor: PipelineExtractor) -> None:
    text = "Mayor Clara Voss opened a library on Monday. The Greens praised the building."
    assert extractor.extract(ArticleText(text=text, published_at=PUBLISHED)) == []


def test_several_actors_and_topics_in_one_article(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "Riverton rejected the Gull Bank wind farm on Monday, while Sudavia backed it.",
        "The Greens backed the congestion charge.",
    )
    assert {(o.actor, o.topic, o.label) for o in found} == {
        ("norland", WIND, "oppose"),
        ("sudavia", WIND, "support"),
        ("green-party", CHARGE, "support"),
    }


def test_extract_corpus_output_shape(registry: RegistrySnapshot, tmp_path: Path) -> None:
    articles = [
        {"url": "https://example.org/lakeford/1", "published_at": "2025-05-14T09:00:00Z", "text": ARTICLE},
        {"id": "quiet", "published_at": "2025-05-14", "text": "Nothing happened in Lakeford."},
    ]
    rows = list(extract_corpus(articles, registry))
    assert len(rows) == 4
    for row in rows:
        assert tuple(row) == PREDICTION_KEYS
        assert row["article_id"] == "https://example.org/lakeford/1"
        assert row["label"] in {"support", "oppose", "neutral", "mixed"}
        assert -1.0 <= row["score"] <= 1.0
        assert row["evidence"] in ARTICLE
        date.fromisoformat(row["observed_at"])
    path = tmp_path / "pred.jsonl"
    assert write_jsonl(rows, path) == len(rows)
    assert read_jsonl(path) == rows


def test_bad_input_names_line_and_field(registry: RegistrySnapshot, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a"}\n\nnot json\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:3"):
        read_jsonl(path)
    path.write_text('{"id": "a"}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: expected a JSON object"):
        read_jsonl(path)
    with pytest.raises(ValueError, match="'published_at'"):
        list(extract_corpus([{"id": "a", "text": "x"}], registry))
    with pytest.raises(ValueError, match="'published_at' is not an ISO date"):
        list(extract_corpus([{"id": "a", "text": "x", "published_at": "14/05/2025"}], registry))
    with pytest.raises(ValueError, match="'id'"):
        list(extract_corpus([{"text": "x", "published_at": "2025-05-14"}], registry))
    with pytest.raises(ValueError, match="'text'"):
        list(extract_corpus([{"id": "a", "text": None, "published_at": "2025-05-14"}], registry))


def test_extraction_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Sets of topics and actors are iterated in sorted order: another process with another
    PYTHONHASHSEED extracts exactly the same observations (stored counts are compared after a
    crash, and re-extraction must not churn)."""
    import json
    import os
    import subprocess
    import sys

    articles = [
        {"id": "a", "published_at": "2025-05-14T08:00:00Z", "text": ARTICLE},
        {
            "id": "b",
            "published_at": "2025-05-14T08:00:00Z",
            "text": "The Greens said the plan was a mistake. The union backed it, and so did the council.",
        },
    ]
    corpus = tmp_path / "articles.jsonl"
    write_jsonl(articles, corpus)
    (tmp_path / "registry.json").write_text(json.dumps(REGISTRY), encoding="utf-8")
    script = (
        "import json, sys\n"
        "from app.extraction.corpus import extract_corpus, read_jsonl\n"
        "from app.extraction.types import RegistrySnapshot\n"
        "registry = RegistrySnapshot.from_dict(json.load(open(sys.argv[2])))\n"
        "print(json.dumps(list(extract_corpus(read_jsonl(sys.argv[1]), registry)), sort_keys=True))\n"
    )
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script, str(corpus), str(tmp_path / "registry.json")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1]
    assert runs[0], "the articles hold claims"
