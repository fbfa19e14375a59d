"""The actor gazetteer: registry aliases found in text and resolved to slugs on a given day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.extraction.actors import ActorGazetteer
from app.extraction.pipeline import PipelineExtractor
from tests.unit.extraction.lakeford import DAY, SNAPSHOT, WIND, extract, keys


@pytest.fixture(scope="module")
def gazetteer() -> ActorGazetteer:
    return ActorGazetteer(SNAPSHOT)


def test_acronyms_match_case_sensitively(gazetteer: ActorGazetteer) -> None:
    text = "Residents can write to CAN, but few can wait for an answer."
    assert [(m.text, m.slug) for m in gazetteer.find(text, DAY)] == [("CAN", "coastal-action")]


def test_longest_alias_wins_and_word_boundaries_hold(gazetteer: ActorGazetteer) -> None:
    text = "Mayor Clara Voss met Vossberg residents and Petra Halvorsen in Riverton."
    assert [(m.text, m.slug) for m in gazetteer.find(text, DAY)] == [
        ("Mayor Clara Voss", "clara-voss"),
        ("Petra Halvorsen", "petra-halvorsen"),
        ("Riverton", "norland"),
    ]


def test_other_aliases_match_whatever_their_case(gazetteer: ActorGazetteer) -> None:
    text = "THE CITY COUNCIL met the Lakeford Chamber Of Commerce."
    assert [m.slug for m in gazetteer.find(text, DAY)] == ["lakeford-council", "chamber-of-commerce"]


def test_an_alias_with_the_is_also_found_as_a_modifier(gazetteer: ActorGazetteer) -> None:
    mentions = gazetteer.find("Lakeford Chamber of Commerce members voted.", DAY)
    assert [(m.text, m.slug) for m in mentions] == [("Lakeford Chamber of Commerce", "chamber-of-commerce")]


def test_shared_alias_is_resolved_by_office_on_the_day(gazetteer: ActorGazetteer) -> None:
    text = "The Norland environment minister said no."
    assert gazetteer.find(text, date(2024, 3, 1))[0].slugs == ("lars-eriksen",)
    assert gazetteer.find(text, date(2025, 5, 14))[0].slugs == ("petra-halvorsen",)


def test_a_capital_is_a_metonym_and_the_state_name_is_not(gazetteer: ActorGazetteer) -> None:
    mentions = gazetteer.find("Riverton and Norland and the city council", DAY)
    assert [(m.slug, m.metonym) for m in mentions] == [
        ("norland", True),
        ("norland", False),
        ("lakeford-council", False),
    ]


def test_a_possessive_spokes_noun_speaks_for_the_possessor(gazetteer: ActorGazetteer) -> None:
    [office] = gazetteer.find("Halvorsen's office said the plan was sound.", DAY)
    assert (office.slug, office.possessive, office.speaks_for) == ("petra-halvorsen", True, True)
    [plan] = gazetteer.find("Halvorsen's plan was sound.", DAY)
    assert (plan.possessive, plan.speaks_for) == (True, False)


def test_offsets_point_into_the_searched_text(gazetteer: ActorGazetteer) -> None:
    text = "On Monday the Greens and the transit union met."
    for mention in gazetteer.find(text, DAY):
        assert text[mention.start : mention.end] == mention.text
    assert [m.kind for m in gazetteer.find(text, DAY)] == ["group", "organization"]


def test_ancestors_follow_memberships_valid_on_the_day(gazetteer: ActorGazetteer) -> None:
    assert gazetteer.ancestors("petra-halvorsen", DAY) == {"environment-ministry", "norland"}
    assert gazetteer.ancestors("lars-eriksen", DAY) == set()  # out of office since May 2024
    assert gazetteer.ancestors("lars-eriksen", date(2024, 1, 1)) == {"environment-ministry", "norland"}


def test_a_shared_role_alias_codes_the_office_holder_of_the_articles_day(
    extractor: PipelineExtractor,
) -> None:
    sentence = "The Norland environment minister said the Gull Bank wind farm was a mistake."
    assert keys(extract(extractor, sentence, published=datetime(2024, 3, 6, 9, 0, tzinfo=UTC))) == {
        ("lars-eriksen", WIND, "oppose")
    }
    assert keys(extract(extractor, sentence)) == {("petra-halvorsen", WIND, "oppose")}
