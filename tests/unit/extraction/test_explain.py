"""The extraction trace (explain.py): the stages report what they found and why they went no
further, and tracing never changes what extraction finds.

The town of Quillby, its council, mayor and traders, its tram extension and night buses were
written for these tests; nothing comes from the development corpora.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from app.extraction import ENGINES, build_extractor
from app.extraction.explain import ExtractionTrace, SentenceTrace, trace_extraction
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import ArticleText, ExtractedObservation, RegistrySnapshot

TRAM = "quillby-tram-extension"
BUSES = "quillby-night-buses"
PUBLISHED = datetime(2025, 6, 12, 7, 0, tzinfo=UTC)  # a Thursday

REGISTRY: dict[str, Any] = {
    "actors": [
        {"slug": "quillby-council", "name": "Quillby Town Council", "kind": "organization",
         "aliases": ["Quillby Town Council", "the town council"]},
        {"slug": "odile-brannock", "name": "Odile Brannock", "kind": "person",
         "aliases": ["Odile Brannock", "Brannock", "Mayor Odile Brannock"],
         "memberships": [{"parent": "quillby-council", "role": "mayor", "from": "2022-01-01"}]},
        # two deputy mayors in turn share the office's alias
        {"slug": "tomas-reeve", "name": "Tomas Reeve", "kind": "person",
         "aliases": ["Tomas Reeve", "the deputy mayor"],
         "memberships": [{"parent": "quillby-council", "role": "deputy mayor", "from": "2020-01-01",
                          "to": "2024-12-31"}]},
        {"slug": "lena-osk", "name": "Lena Osk", "kind": "person", "aliases": ["Lena Osk", "the deputy mayor"],
         "memberships": [{"parent": "quillby-council", "role": "deputy mayor", "from": "2025-01-01"}]},
        {"slug": "quillby-traders", "name": "Quillby Traders Association", "kind": "organization",
         "aliases": ["the Quillby Traders Association", "the traders' association"]},
    ],
    "topics": [
        {"slug": TRAM, "name": "Quillby tram extension",
         "description": "Extending the tram line to Quillby harbour. Funding or building the extension is "
                        "support; scrapping or delaying it is opposition.",
         "keywords": ["tram extension", "harbour tram line"]},
        {"slug": BUSES, "name": "Quillby night buses",
         "description": "Running night buses in Quillby. Funding them is support; cutting them is opposition.",
         "keywords": ["night buses", "night bus service"]},
    ],
}  # fmt: skip
SNAPSHOT = RegistrySnapshot.from_dict(REGISTRY)

ARTICLE = (
    "The tram extension was discussed at a Quillby Town Council meeting on Monday. "
    "The deputy mayor said the town would never fund the tram extension. "
    "The Quillby Traders Association said the tram extension would open in May. "
    "It also backs the night bus service. "
    "Mayor Odile Brannock backs the tram extension. "
    "Brannock has repeatedly backed the tram extension. "
    "The weather in Quillby stayed mild."
)


@pytest.fixture(scope="module")
def extractor() -> PipelineExtractor:
    return PipelineExtractor(SNAPSHOT)


def _article(text: str) -> ArticleText:
    return ArticleText(text=text, published_at=PUBLISHED)


def _traced(extractor: Any, text: str) -> tuple[list[ExtractedObservation], ExtractionTrace]:
    return trace_extraction(extractor, _article(text))


def _as_dicts(found: Sequence[ExtractedObservation]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(o) for o in found]


@pytest.fixture(scope="module")
def traced(extractor: PipelineExtractor) -> tuple[list[ExtractedObservation], list[SentenceTrace]]:
    found, trace = _traced(extractor, ARTICLE)
    return found, trace.view()


@pytest.mark.parametrize("engine", ENGINES)
def test_tracing_does_not_change_the_observations(engine: str) -> None:
    extractor = build_extractor(SNAPSHOT, engine)
    plain = extractor.extract(_article(ARTICLE))
    found, trace = _traced(extractor, ARTICLE)
    assert plain  # the article has stances to find
    assert _as_dicts(found) == _as_dicts(plain)
    assert len(trace.sentences) == 7


def test_kept_candidates_are_the_observations(
    traced: tuple[list[ExtractedObservation], list[SentenceTrace]],
) -> None:
    found, sentences = traced
    kept = sorted(
        (c.actor, c.topic, c.label, c.score, s.index) for s in sentences for c in s.candidates if c.kept
    )
    assert kept == sorted((o.actor, o.topic, o.label, o.score, o.extras["sentence"]) for o in found)
    assert {(o.actor, o.topic, o.label) for o in found} == {
        ("lena-osk", TRAM, "oppose"),
        ("quillby-traders", BUSES, "support"),
        ("odile-brannock", TRAM, "support"),
    }
    for sentence in sentences:
        for candidate in sentence.candidates:
            assert candidate.reason.startswith("kept: ") == candidate.kept


def test_every_sentence_is_there_with_its_offsets(
    traced: tuple[list[ExtractedObservation], list[SentenceTrace]],
) -> None:
    _, sentences = traced
    assert [s.index for s in sentences] == list(range(7))
    for sentence in sentences:
        assert ARTICLE[sentence.start : sentence.end] == sentence.text
        for mention in sentence.mentions:
            assert sentence.start <= mention.start < mention.end <= sentence.end
            assert ARTICLE[mention.start : mention.end] == mention.text


def test_a_sentence_without_actor_or_topic_says_so_and_is_not_parsed(
    traced: tuple[list[ExtractedObservation], list[SentenceTrace]],
) -> None:
    weather = traced[1][6]
    assert weather.text == "The weather in Quillby stayed mild."
    assert (weather.parsed, weather.mentions, weather.topics, weather.claimants) == (False, [], [], [])
    assert weather.candidates == []
    assert weather.notes[0].startswith("no actor")
    assert weather.notes[1] == "no topic: no keyword of any topic"
    assert any(note.startswith("not parsed: no actor") for note in weather.notes)


def test_an_actor_in_no_agent_role_is_no_claimant(
    traced: tuple[list[ExtractedObservation], list[SentenceTrace]],
) -> None:
    meeting = traced[1][0]  # "... discussed at a Quillby Town Council meeting ..."
    assert meeting.parsed
    assert meeting.claimants == []
    [candidate] = meeting.candidates
    assert (candidate.actor, candidate.topic, candidate.kept) == ("quillby-council", TRAM, False)
    assert "makes no claim here: not the subject or agent of a verb" in candidate.reason


def test_naming_the_topic_without_a_side_is_no_stance(
    traced: tuple[list[ExtractedObservation], list[SentenceTrace]],
) -> None:
    opening = traced[1][2]  # "... said the tram extension would open in May."
    assert [c.actor for c in opening.claimants] == ["quillby-traders"]
    [candidate] = opening.candidates
    assert not candidate.kept
    assert candidate.reason.startswith("no stance cue: 'said' names the topic")


def test_stance_cues_offices_and_pronouns(
    traced: tuple[list[ExtractedObservation], list[SentenceTrace]],
) -> None:
    _, sentences = traced
    never = sentences[1]  # "The deputy mayor said the town would never fund the tram extension."
    assert [(m.actor, m.via) for m in never.mentions] == [("lena-osk", "office")]  # in office in 2025
    assert [(c.text, c.sign, c.kind) for c in never.cues] == [
        ("fund", 1, "stance verb"),
        ("never", -1, "negation"),
    ]
    assert [(c.actor, c.verb, c.speaker) for c in never.claimants] == [("lena-osk", "said", "Lena Osk")]
    buses = sentences[3]  # "It also backs the night bus service."
    assert [(m.actor, m.text, m.via) for m in buses.mentions] == [("quillby-traders", "It", "coreference")]
    [topic] = buses.topics
    assert (topic.topic, topic.relevance, topic.keywords, topic.via) == (
        BUSES,
        1.0,
        ["night bus service"],
        "keyword",
    )


def test_a_claim_reported_twice_is_merged_into_one_observation(
    traced: tuple[list[ExtractedObservation], list[SentenceTrace]],
) -> None:
    again = traced[1][5]  # "Brannock has repeatedly backed the tram extension."
    [candidate] = again.candidates
    assert (candidate.label, candidate.score, candidate.kept) == ("support", 1.0, False)
    assert candidate.reason.startswith("merged into the report in sentence 4 (same actor, topic and day")
    assert candidate.reason.endswith("kept as its supporting evidence")


def test_a_view_of_one_topic_keeps_only_its_relevance_and_candidates(extractor: PipelineExtractor) -> None:
    found, trace = _traced(extractor, ARTICLE)
    sentences = trace.view(BUSES)
    assert {c.topic for s in sentences for c in s.candidates} == {BUSES}
    first = sentences[0]  # names the tram extension only
    [absent] = first.topics
    assert (absent.topic, absent.relevance, absent.via, absent.counted) == (BUSES, 0.0, "none", False)
    assert "no topic: no keyword of quillby-night-buses (night buses, night bus service)" in first.notes
    summary = trace.summary(len([o for o in found if o.topic == BUSES]), BUSES)
    assert summary.startswith("7 sentences: 6 mention an actor, 1 is about quillby-night-buses")
    assert summary.endswith("1 candidate, 1 observation")


def test_an_article_naming_no_topic_is_not_parsed(extractor: PipelineExtractor) -> None:
    found, trace = _traced(extractor, "Mayor Odile Brannock opened a bakery on Friday.")
    assert found == []
    assert trace.notes == ["no sentence names a topic keyword: nothing was parsed"]
    [sentence] = trace.view()
    assert not sentence.parsed
    assert [(m.actor, m.via) for m in sentence.mentions] == [("odile-brannock", "alias")]
    assert "no topic: no keyword of any topic" in sentence.notes
    assert trace.summary(0) == (
        "1 sentence: 1 mentions an actor, 0 are about a topic, 0 parsed, 0 with a claimant; "
        "0 candidates, 0 observations"
    )


class _OneShot:
    """An engine that is no staged pipeline: it reports no stages."""

    method = "model"
    version = "one-shot-0"

    def extract(self, article: ArticleText) -> list[ExtractedObservation]:
        start = article.text.index("Mayor")
        return [
            ExtractedObservation(
                actor="odile-brannock",
                topic=TRAM,
                score=1.0,
                label="support",
                confidence=0.7,
                observed_at=PUBLISHED.date(),
                evidence=article.text[start:],
                evidence_start=start,
                evidence_end=len(article.text),
            )
        ]


def test_an_engine_without_stages_gives_a_coarse_explanation() -> None:
    text = "The weather stayed mild. Mayor Odile Brannock backs the tram extension."
    found, trace = trace_extraction(_OneShot(), _article(text))
    assert len(found) == 1
    assert not trace.detailed
    sentences = trace.view()
    assert [len(s.candidates) for s in sentences] == [0, 1]
    assert sentences[1].candidates[0].kept
    assert all(s.notes == [] for s in sentences)
    assert "engine model reports no stages" in trace.summary(1)


@pytest.mark.skipif("embeddings" not in ENGINES, reason="the embeddings engine is not installed")
def test_the_embeddings_engine_reports_how_close_a_sentence_came() -> None:
    extractor = build_extractor(SNAPSHOT, "embeddings")
    text = "Mayor Odile Brannock praised the plan to run trams down to the harbour. The weather was mild."
    found, trace = _traced(extractor, text)
    assert found == []
    first = trace.view(BUSES)[0]
    [topic] = first.topics
    assert topic.via == "similarity"
    assert not topic.counted
    assert topic.threshold is not None
    assert 0 <= topic.relevance < topic.threshold
    assert any(note.startswith("closest topic by similarity is") for note in first.notes)
    assert "topics also by sentence similarity" in trace.summary(0)
