"""Topic relevance from the registry alone: keywords, weak keywords, excluded senses, compound
mentions, head nouns, child topics and the article's focus."""

from __future__ import annotations

import re

import pytest

from app.extraction.pipeline import PipelineExtractor
from app.extraction.relevance import TopicHit, TopicIndex, keyword_pattern
from app.extraction.types import RegistrySnapshot
from tests.unit.extraction.lakeford import (
    CHARGE,
    COD,
    DAM,
    QUOTAS,
    SNAPSHOT,
    UNIFORMS,
    WEEK,
    WIND,
    extract,
    keys,
)


@pytest.fixture(scope="module")
def index() -> TopicIndex:
    return TopicIndex(SNAPSHOT)


def _topics(index: TopicIndex, text: str) -> set[str]:
    return {h.topic for h in index.hits(text)}


def test_keywords_match_inflections_within_word_boundaries(index: TopicIndex) -> None:
    text = "Two congestion charges and a new school uniform were debated."
    hits = index.hits(text)
    assert [(h.topic, h.keyword, h.strong) for h in hits] == [
        (CHARGE, "congestion charge", True),
        (UNIFORMS, "school uniforms", True),
    ]
    assert [text[h.start : h.end] for h in hits] == ["congestion charges", "school uniform"]
    assert index.hits("The uniformity of the turbinesque design surprised nobody.") == []


def test_a_hyphen_or_a_space_and_both_spellings_match() -> None:
    assert re.fullmatch(keyword_pattern("e-scooter"), "e scooters")
    assert re.fullmatch(keyword_pattern("harbour levy"), "harbor levies")
    assert not re.fullmatch(keyword_pattern("e-scooter"), "escooter")


def test_a_hyphen_inside_a_phrase_also_matches_a_space(index: TopicIndex) -> None:
    assert _topics(index, "The union wants a four day week for teachers.") == {WEEK}


def test_a_weak_keyword_is_a_weak_hit_and_gives_no_focus(index: TopicIndex) -> None:
    hits = index.hits("Tolls on the ring road will rise.")
    assert [(h.topic, h.strong) for h in hits] == [(CHARGE, False)]
    assert index.focus([hits], []) == {}
    assert index.strong_topics_in("Tolls on the ring road will rise.") == set()


def test_focus_is_the_share_of_strong_evidence_and_the_title_counts_twice(index: TopicIndex) -> None:
    sentences = [
        index.hits("The congestion charge starts in June."),
        index.hits("A congestion fee of five pounds was agreed."),
        index.hits("A four-day week was also discussed."),
        index.hits("Tolls will rise."),
    ]
    focus = index.focus(sentences, [])
    assert focus == pytest.approx({CHARGE: 2.25 / 3.25, WEEK: 1 / 3.25})
    titled = index.focus(sentences, index.hits("Four-day week for council staff"))
    assert titled[WEEK] > titled[CHARGE]


def test_an_excluded_phrase_removes_that_sense_of_a_keyword(index: TopicIndex) -> None:
    assert index.hits("Riverton ordered two gas turbines for its power station.") == []
    assert _topics(index, "Riverton ordered two wind turbines for its coast.") == {WIND}


def test_a_child_topic_replaces_its_parent_in_the_sentence(index: TopicIndex) -> None:
    assert _topics(index, "They rejected a lower cod quota and other catch limits.") == {COD}
    assert _topics(index, "They rejected new catch limits.") == {QUOTAS}


def test_a_head_noun_near_a_distinctive_name_is_a_compound_mention(index: TopicIndex) -> None:
    hits = index.hits("The council backed the proposed reservoir on Hollow Creek.")
    assert [(h.topic, h.keyword, h.strong) for h in hits] == [(DAM, "reservoir", True)]
    # the head noun alone, or too far from the name, is not a mention
    assert index.hits("The reservoir was full after the spring rains.") == []
    far = "The reservoir, which engineers say will take many years to fill, lies north of Hollow Creek."
    assert index.hits(far) == []


def test_head_nouns_come_from_keywords_and_names(index: TopicIndex) -> None:
    assert index.topics_for_noun("reservoir") == {DAM}
    assert index.topics_for_noun("project") == {DAM}
    assert index.topics_for_noun("quota") == {COD, QUOTAS}
    assert index.topics_for_noun("library") == set()


def test_hits_carry_their_keyword_and_offsets(index: TopicIndex) -> None:
    text = "Critics of the Gull Bank wind farm met."
    [hit] = index.hits(text)
    assert hit == TopicHit(WIND, 15, 34, "Gull Bank wind farm", True)
    assert text[hit.start : hit.end] == "Gull Bank wind farm"


# -- relevance inside the pipeline ------------------------------------------------------------


def test_a_weak_keyword_alone_does_not_make_a_topic(extractor: PipelineExtractor) -> None:
    assert extract(extractor, "The Greens said tolls would hurt commuters.") == []


def test_a_weak_keyword_counts_in_an_article_about_its_topic(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "Voss defended the congestion charge on Monday.",
        "The Greens, however, rejected a higher toll for lorries.",
    )
    assert keys(found) == {("clara-voss", CHARGE, "support"), ("green-party", CHARGE, "oppose")}


def test_an_excluded_phrase_gives_no_observation(extractor: PipelineExtractor) -> None:
    assert extract(extractor, "Norland backed two gas turbines for the Riverton power station.") == []
    assert keys(extract(extractor, "Norland backed two new turbines for the Riverton power station.")) == {
        ("norland", WIND, "support")
    }


def test_the_child_topic_is_coded_not_its_parent(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor, "The Coastal Fishers Association rejected a lower cod quota and other catch limits."
    )
    assert keys(found) == {("fishers-association", COD, "oppose")}


def test_a_compound_mention_is_coded_to_its_topic(extractor: PipelineExtractor) -> None:
    found = extract(extractor, "Sudavia rejected the proposed reservoir on Hollow Creek on Monday.")
    assert keys(found) == {("sudavia", DAM, "oppose")}


def test_a_head_noun_refers_to_the_topic_the_article_is_about(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "The Hollow Creek dam would flood two villages.",
        "Sudavia said on Monday it opposed the project.",
    )
    assert keys(found) == {("sudavia", DAM, "oppose")}
    assert extract(extractor, "Sudavia said on Monday it opposed the project.") == []


def test_a_short_head_noun_refers_to_the_topic_too(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "The Hollow Creek dam would flood two villages.",
        "Sudavia said on Monday it opposed the dam.",
    )
    assert keys(found) == {("sudavia", DAM, "oppose")}


def test_an_article_about_no_topic_gives_nothing(extractor: PipelineExtractor) -> None:
    assert (
        extract(extractor, "Voss opened a new library on Monday.", "The Greens praised the building.") == []
    )


def test_a_keyword_two_topics_share_names_both_and_an_exclusion_only_its_own() -> None:
    index = TopicIndex(
        RegistrySnapshot.from_dict(
            {
                "actors": [],
                "topics": [
                    {"slug": "ferry-subsidy", "name": "Ferry subsidy", "keywords": ["ferries"]},
                    {
                        "slug": "harbour-fees",
                        "name": "Harbour fees",
                        "keywords": ["ferries"],
                        "excluded_phrases": ["model ferries"],
                    },
                ],
            }
        )
    )
    assert {h.topic for h in index.hits("The council discussed the ferries.")} == {
        "ferry-subsidy",
        "harbour-fees",
    }
    # only the topic that excludes the phrase loses the hit
    assert {h.topic for h in index.hits("The club showed its model ferries.")} == {"ferry-subsidy"}
