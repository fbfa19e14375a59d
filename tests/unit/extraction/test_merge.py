"""Merging: one observation per (actor, topic, observed_at) per article, with its supporting sentences."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.extraction.dates import Precision
from app.extraction.merge import Candidate, label_for, merge, to_observation
from app.extraction.pipeline import PipelineExtractor
from app.extraction.sentences import split_sentences
from tests.unit.extraction.lakeford import CHARGE, DAY, WEEK, extract

TEXT = (
    "The Greens backed the congestion charge on Monday. "
    "The party said the congestion charge was fair. "
    "The Greens said in April that the congestion charge was unfair. "
    "A Green councillor said the charge would hurt shops."
)
SENTENCES = split_sentences(TEXT)
MONDAY = date(2025, 5, 12)


def candidate(index: int, score: float, **overrides: object) -> Candidate:
    values: dict[str, object] = {
        "actor": "green-party",
        "topic": CHARGE,
        "score": score,
        "label": label_for(score, False),
        "confidence": 0.7,
        "day": DAY,
        "precision": Precision.DEFAULT,
        "sentence": SENTENCES[index],
        "speaker": None,
        "shift": False,
        "direct": True,
    }
    values.update(overrides)
    return Candidate(**values)  # type: ignore[arg-type]


def test_one_candidate_per_actor_topic_and_day_with_the_others_as_support() -> None:
    dated = candidate(0, 1.0, day=MONDAY, precision=Precision.DAY, confidence=0.9)
    undated = candidate(1, 1.0, speaker="Green Party")
    [merged] = merge([dated, undated])
    assert (merged.sentence.index, merged.day) == (0, MONDAY)
    assert merged.supporting == ((SENTENCES[1], "Green Party"),)


def test_an_undated_report_folds_into_the_dated_one_and_the_most_confident_is_the_evidence() -> None:
    dated = candidate(0, 1.0, day=MONDAY, precision=Precision.DAY, confidence=0.6)
    undated = candidate(1, 1.0, confidence=0.9)
    [merged] = merge([dated, undated])
    assert (merged.sentence.index, merged.day) == (1, MONDAY)
    assert [s.index for s, _ in merged.supporting] == [0]


def test_different_days_stay_apart() -> None:
    monday = candidate(0, 1.0, day=MONDAY, precision=Precision.DAY)
    april = candidate(2, -1.0, day=date(2025, 4, 1), precision=Precision.MONTH)
    merged = merge([april, monday])
    assert [(c.day, c.label) for c in merged] == [(MONDAY, "support"), (date(2025, 4, 1), "oppose")]
    assert all(c.supporting == () for c in merged)


def test_a_report_of_the_other_sign_is_not_support() -> None:
    fair = candidate(1, 1.0, confidence=0.9)
    hurt = candidate(3, -1.0, confidence=0.5)
    [merged] = merge([fair, hurt])
    assert (merged.sentence.index, merged.supporting) == (1, ())


def test_a_precisely_dated_report_wins_over_a_more_confident_summary_that_disagrees() -> None:
    summary = candidate(1, 1.0, day=MONDAY, precision=Precision.CONTEXT, confidence=0.9)
    detail = candidate(3, -1.0, day=MONDAY, precision=Precision.DAY, confidence=0.6)
    [merged] = merge([summary, detail])
    assert (merged.sentence.index, merged.label) == (3, "oppose")


def test_actors_and_topics_are_merged_separately() -> None:
    merged = merge([candidate(0, 1.0), candidate(1, 1.0, actor="clara-voss"), candidate(2, 1.0, topic=WEEK)])
    assert sorted((c.actor, c.topic) for c in merged) == [
        ("clara-voss", CHARGE),
        ("green-party", CHARGE),
        ("green-party", WEEK),
    ]


@pytest.mark.parametrize(
    ("score", "mixed", "label"),
    [(1.0, False, "support"), (0.16, False, "support"), (0.15, False, "neutral"), (0.0, False, "neutral"),
     (-0.15, False, "neutral"), (-0.5, False, "oppose"), (-0.25, True, "mixed"), (0.0, True, "mixed")],
)  # fmt: skip
def test_label_thresholds(score: float, mixed: bool, label: str) -> None:
    assert label_for(score, mixed) == label


def test_an_observation_carries_its_evidence_offsets_and_supporting_sentences() -> None:
    merged = replace(
        candidate(0, 1.0, day=MONDAY, precision=Precision.DAY), supporting=((SENTENCES[1], "Green Party"),)
    )
    observation = to_observation(merged)
    assert TEXT[observation.evidence_start : observation.evidence_end] == observation.evidence
    assert observation.extras["date_precision"] == "day"
    assert observation.extras["sentence"] == 0
    [supporting] = observation.extras["supporting"]
    assert TEXT[supporting["start"] : supporting["end"]] == supporting["evidence"] == SENTENCES[1].text
    assert supporting["speaker"] == "Green Party"


# -- merging in the pipeline ------------------------------------------------------------------


def test_an_article_repeating_a_claim_gives_one_observation(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "The teachers' union backed a four-day week on Monday.",
        "The National Teachers Union said a four-day week would help teachers.",
    )
    assert [(o.actor, o.topic, o.label, o.observed_at) for o in found] == [
        ("teachers-union", WEEK, "support", MONDAY)
    ]
    assert [s["evidence"] for s in found[0].extras["supporting"]] == [
        "The National Teachers Union said a four-day week would help teachers."
    ]


def test_the_same_claim_on_two_days_gives_two_observations(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "The teachers' union backed a four-day week on Monday.",
        "The National Teachers Union said last month that a four-day week would help teachers.",
    )
    assert sorted((o.actor, o.observed_at) for o in found) == [
        ("teachers-union", date(2025, 4, 1)),
        ("teachers-union", MONDAY),
    ]
