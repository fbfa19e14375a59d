"""Who makes a claim, from the dependency parse: agents, metonyms, reported speech, sources,
conditions and predictions."""

from __future__ import annotations

import pytest

from app.extraction import nlp
from app.extraction.actors import ActorGazetteer
from app.extraction.claimants import ActorRef, find_claimants
from app.extraction.pipeline import PipelineExtractor
from tests.unit.extraction.lakeford import CHARGE, DAY, SNAPSHOT, extract, keys, one

NAMES = {a.slug: a.name for a in SNAPSHOT.actors}


@pytest.fixture(scope="module")
def gazetteer() -> ActorGazetteer:
    return ActorGazetteer(SNAPSHOT)


def claimants(gazetteer: ActorGazetteer, text: str) -> list[tuple[str, str, str | None]]:
    """(slug, predicate, speaker) of each claimant of one sentence, named actors only."""
    parsed = nlp.load()(text)
    refs = []
    for mention in gazetteer.find(text, DAY):
        span = parsed.char_span(mention.start, mention.end, alignment_mode="expand")
        refs.append(ActorRef(mention.slug, mention.kind, span.start, span.end, True, mention.text))
    return [(c.slug, parsed[c.predicate].text, c.speaker) for c in find_claimants(parsed, refs, NAMES)]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The city council rejected the congestion charge.", [("lakeford-council", "rejected", None)]),
        ("The congestion charge was rejected by the city council.", [("lakeford-council", "rejected", None)]),
        (
            "Voss and the Greens backed the congestion charge.",
            [("clara-voss", "backed", None), ("green-party", "backed", None)],
        ),
        ("The mayor, Clara Voss, backed the congestion charge.", [("clara-voss", "backed", None)]),
        (
            "According to the Transit Workers Union, the congestion charge is unfair.",
            [("transit-union", "is", None)],
        ),
    ],
)
def test_agents_are_claimants(
    gazetteer: ActorGazetteer, sentence: str, expected: list[tuple[str, str, str | None]]
) -> None:
    assert claimants(gazetteer, sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Riverton rejected the Gull Bank wind farm.",
        "Riverton has firmly rejected the Gull Bank wind farm.",
        "The Gull Bank wind farm was rejected by Riverton.",
    ],
)
def test_a_capital_that_acts_stands_for_its_state(gazetteer: ActorGazetteer, sentence: str) -> None:
    assert [slug for slug, _, _ in claimants(gazetteer, sentence)] == ["norland"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Ministers met in Riverton to discuss the Gull Bank wind farm.",
        "The Riverton talks on the Gull Bank wind farm ended late.",
        "Delegates left Riverton after the talks on the wind farm.",
        "Fishermen in Riverton have rejected the Gull Bank wind farm.",
    ],
)
def test_a_capital_as_a_place_is_no_claimant(gazetteer: ActorGazetteer, sentence: str) -> None:
    assert claimants(gazetteer, sentence) == []


def test_reported_speech_is_the_speakers_claim(gazetteer: ActorGazetteer) -> None:
    found = claimants(gazetteer, "Mayor Clara Voss said the city council would back the congestion charge.")
    assert found == [("clara-voss", "said", "Clara Voss")]


def test_an_actor_relayed_by_a_source_outside_the_registry_keeps_the_claim(gazetteer: ActorGazetteer) -> None:
    found = claimants(
        gazetteer, "A source close to the talks said the transit union would oppose the congestion charge."
    )
    assert found == [("transit-union", "oppose", "A source close to the talks")]


def test_a_source_named_by_according_to_is_the_speaker(gazetteer: ActorGazetteer) -> None:
    found = claimants(
        gazetteer,
        "The transit union will oppose the congestion charge, according to a source close to the talks.",
    )
    assert found == [("transit-union", "oppose", "a source close to the talks")]


@pytest.mark.parametrize(
    ("sentence", "slug"),
    [
        ("Halvorsen's office said the congestion charge was unfair.", "petra-halvorsen"),
        (
            "The environment ministry's spokesperson said the Gull Bank wind farm was essential.",
            "environment-ministry",
        ),
        (
            "A spokesperson for the environment ministry said the Gull Bank wind farm was essential.",
            "environment-ministry",
        ),
    ],
)
def test_a_spokes_noun_speaks_for_its_actor(gazetteer: ActorGazetteer, sentence: str, slug: str) -> None:
    assert [(s, predicate) for s, predicate, _ in claimants(gazetteer, sentence)] == [(slug, "said")]


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        pytest.param(
            "A spokesperson for the environment ministry said the Gull Bank wind farm was essential.",
            "A spokesperson for the environment ministry",
        ),
        pytest.param(
            "Halvorsen's office said the congestion charge was unfair.",
            "Halvorsen's office",
        ),
    ],
)
def test_the_spokes_noun_phrase_is_the_speaker_as_written(
    gazetteer: ActorGazetteer, sentence: str, speaker: str
) -> None:
    [(_, _, found)] = claimants(gazetteer, sentence)
    assert found == speaker


@pytest.mark.parametrize(
    "sentence",
    [
        "If the city council backed the congestion charge, fares would fall.",
        "Fares would fall if the city council backed the congestion charge.",
        "Nobody knows whether the city council will back the congestion charge.",
    ],
)
def test_no_claim_from_inside_a_condition(gazetteer: ActorGazetteer, sentence: str) -> None:
    assert claimants(gazetteer, sentence) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "The city council is expected to back the congestion charge.",
        "The Greens are likely to back a four-day week.",
        "Riverton is due to approve the Gull Bank wind farm.",
    ],
)
def test_a_prediction_is_no_claim(gazetteer: ActorGazetteer, sentence: str) -> None:
    assert claimants(gazetteer, sentence) == []


# -- claimants in whole articles --------------------------------------------------------------


def test_the_mayor_reporting_the_council_is_the_mayors_claim(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor,
        "Clara Voss met shop owners on Monday.",
        "The mayor said the city council would back the congestion charge.",
    )
    assert keys(found) == {("clara-voss", CHARGE, "support")}
    assert one(found, "clara-voss", CHARGE).speaker == "Clara Voss"


def test_a_relayed_actor_keeps_the_claim_with_the_source_as_speaker(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor, "A source close to the talks said the transit union would oppose the congestion charge."
    )
    assert keys(found) == {("transit-union", CHARGE, "oppose")}
    assert one(found, "transit-union", CHARGE).speaker == "A source close to the talks"


def test_the_actor_named_by_according_to_holds_the_view(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor, "The congestion charge is unfair, according to the Lakeford Chamber of Commerce."
    )
    assert keys(found) == {("chamber-of-commerce", CHARGE, "oppose")}


def test_a_ministry_speaks_through_its_spokesperson(extractor: PipelineExtractor) -> None:
    found = extract(
        extractor, "The environment ministry's spokesperson said the Gull Bank wind farm was essential."
    )
    assert keys(found) == {("environment-ministry", "gull-bank-wind-farm", "support")}


def test_metonym_acting_versus_place(extractor: PipelineExtractor) -> None:
    assert keys(extract(extractor, "Riverton rejected the Gull Bank wind farm.")) == {
        ("norland", "gull-bank-wind-farm", "oppose")
    }
    place = extract(
        extractor, "At a meeting in Riverton, the fishers' association rejected the Gull Bank wind farm."
    )
    assert keys(place) == {("fishers-association", "gull-bank-wind-farm", "oppose")}


def test_conditions_and_predictions_give_no_observation(extractor: PipelineExtractor) -> None:
    assert extract(extractor, "Fares would fall if the city council backed the congestion charge.") == []
    assert extract(extractor, "The city council is expected to back the congestion charge.") == []
