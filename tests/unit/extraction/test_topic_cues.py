"""Support and opposition cues read from a topic's own description ("X is support; Y is opposition")."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.extraction.pipeline import PipelineExtractor
from app.extraction.topic_cues import topic_cues
from app.extraction.types import RegistrySnapshot, TopicEntry
from tests.unit.extraction.lakeford import DAM, SNAPSHOT, WIND, WIND_DESCRIPTION, extract, keys


def cues(description: str) -> dict[str, float]:
    return dict(topic_cues(TopicEntry(slug="t", name="T", description=description)))


def test_each_part_gives_its_verbs_the_parts_side() -> None:
    found = cues(WIND_DESCRIPTION)
    assert {word: found.get(word) for word in ("build", "relocate", "shrink")} == {
        "build": 1.0,
        "relocate": -1.0,
        "shrink": -1.0,
    }


@pytest.mark.xfail(
    strict=True,
    reason="the gerund opening the description ('Licensing or building ...') is tagged as a noun and "
    "dropped; so 'Norland licensed the Gull Bank wind farm on Monday.' gives no observation",
)
def test_a_gerund_opening_the_description_is_a_cue() -> None:
    assert cues(WIND_DESCRIPTION).get("license") == 1.0


def test_counts_as_and_in_favour_name_a_side_too() -> None:
    assert cues("Dredging the river counts as support.") == {"dredge": 1.0}
    assert cues("Voting to flood the valley is in favour; fencing it off is against.") == {
        "flood": 1.0,
        "fence": -1.0,
    }


def test_a_word_on_both_sides_is_left_out() -> None:
    found = cues("Widening the zone or charging vans is support; widening the exemptions is opposition.")
    assert found == {"charge": 1.0}


def test_words_the_general_lexicon_knows_are_not_cues() -> None:
    found = cues("Backing or building the dam is support; delaying or relocating it is opposition.")
    assert found == {"build": 1.0, "relocate": -1.0}


def test_a_description_that_names_no_side_gives_no_cues() -> None:
    assert cues("A daily fee for driving into central Lakeford.") == {}
    assert cues("") == {}


# -- cues in the pipeline ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def without_cues() -> PipelineExtractor:
    topics = tuple(replace(t, description="") if t.slug == WIND else t for t in SNAPSHOT.topics)
    return PipelineExtractor(RegistrySnapshot(actors=SNAPSHOT.actors, topics=topics))


def test_a_cue_decides_a_claim_the_lexicon_has_no_side_for(
    extractor: PipelineExtractor, without_cues: PipelineExtractor
) -> None:
    sentence = "Norland has started building the Gull Bank wind farm."
    assert keys(extract(extractor, sentence)) == {("norland", WIND, "support")}
    assert extract(without_cues, sentence) == []


def test_a_cue_turns_a_wish_into_opposition(extractor: PipelineExtractor) -> None:
    found = extract(extractor, "The fishers' association wants to relocate the Gull Bank wind farm.")
    assert keys(found) == {("fishers-association", WIND, "oppose")}
    negated = extract(extractor, "Halvorsen said the Gull Bank wind farm would never be relocated.")
    assert keys(negated) == {("petra-halvorsen", WIND, "support")}


def test_cues_belong_to_their_topic_only(extractor: PipelineExtractor) -> None:
    # "building" is support of the wind farm, not of the dam, whose description says nothing of sides
    assert extract(extractor, "Norland has started building the Hollow Creek dam.") == []
    # the dam's own name words take no side on it; no other word is a cue for it
    assert {word: side for word, side in extractor.cues[DAM].items() if side} == {}
    assert extractor.cues[DAM]["dam"] == 0.0
