"""Issue 3: actors, claimant attribution, topics, stance, shift, dates and distractors.

Every sentence here was written for these tests (none is taken from the development corpus).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest

from app.extraction.rules import RulesExtractor
from app.extraction.types import ArticleText, ExtractedObservation, RegistrySnapshot

TROOPS = "ground-troops-ukraine"
AID = "us-military-aid-ukraine"
TOMAHAWK = "tomahawk-missiles-ukraine"
TRAINING = "training-ukrainian-forces"


def _person(slug: str, name: str, aliases: list[str], state: str, role: str) -> dict[str, object]:
    return {
        "slug": slug,
        "name": name,
        "kind": "person",
        "aliases": aliases,
        "memberships": [{"parent": state, "role": role, "from": "2020-01-01", "to": None}],
    }


def _state(slug: str, name: str, aliases: list[str], groups: Sequence[str] = ()) -> dict[str, object]:
    return {
        "slug": slug,
        "name": name,
        "kind": "state",
        "aliases": aliases,
        "memberships": [{"parent": g, "from": None, "to": None} for g in groups],
    }


REGISTRY = RegistrySnapshot.from_dict(
    {
        "actors": [
            _state("france", "France", ["France", "the Elysee"], ["europe", "coalition-of-the-willing"]),
            _state("united-kingdom", "United Kingdom", ["Britain", "the UK", "Downing Street"], ["europe"]),
            _state("poland", "Poland", ["Poland", "Warsaw"], ["europe"]),
            _state("germany", "Germany", ["Germany", "Berlin"], ["europe"]),
            _state("united-states", "United States", ["the United States", "US", "Washington", "the White House"]),
            _state("russia", "Russia", ["Russia", "Moscow", "the Kremlin", "Russian officials"]),
            _state("ukraine", "Ukraine", ["Ukraine", "Kyiv"]),
            {"slug": "europe", "name": "Europe", "kind": "bloc", "memberships": [],
             "aliases": ["Europe", "European leaders", "European governments", "Europeans", "some European allies"]},
            {"slug": "coalition-of-the-willing", "name": "Coalition of the willing", "kind": "group",
             "memberships": [], "aliases": ["coalition of the willing", "the so-called coalition of the willing",
                                            "the coalition"]},
            {"slug": "us-department-of-defense", "name": "U.S. Department of Defense", "kind": "organization",
             "aliases": ["the Pentagon"], "memberships": [{"parent": "united-states", "from": None, "to": None}]},
            _person("emmanuel-macron", "Emmanuel Macron",
                    ["Macron", "French President Emmanuel Macron", "the French president"], "france", "president"),
            _person("keir-starmer", "Keir Starmer",
                    ["Starmer", "Keir Starmer", "the British prime minister"], "united-kingdom", "prime minister"),
            _person("donald-tusk", "Donald Tusk", ["Tusk", "Polish Prime Minister Donald Tusk"], "poland", "pm"),
            _person("donald-trump", "Donald Trump", ["Trump", "President Donald Trump"], "united-states", "president"),
            _person("jd-vance", "JD Vance", ["Vance", "JD Vance"], "united-states", "vice president"),
            _person("vladimir-putin", "Vladimir Putin", ["Putin", "Vladimir Putin"], "russia", "president"),
            _person("sergey-lavrov", "Sergey Lavrov", ["Lavrov", "Sergei Lavrov"], "russia", "foreign minister"),
            _person("dmitry-peskov", "Dmitry Peskov", ["Peskov", "Kremlin spokesman Dmitry Peskov"], "russia",
                    "spokesman"),
            _person("volodymyr-zelensky", "Volodymyr Zelensky", ["Zelensky"], "ukraine", "president"),
        ],
        "topics": [
            {"slug": TROOPS, "name": "Foreign troops on the ground in Ukraine",
             "keywords": ["troops", "soldiers", "peacekeepers", "forces", "deploy", "reassurance force",
                          "boots on the ground", "security guarantees"]},
            {"slug": TRAINING, "name": "Training Ukraine's armed forces", "keywords": ["train", "training"]},
            {"slug": AID, "name": "US military aid to Ukraine",
             "keywords": ["military aid", "weapons", "deliveries", "shipments", "pause", "security assistance"]},
            {"slug": TOMAHAWK, "name": "Tomahawk cruise missiles for Ukraine", "keywords": ["Tomahawk", "Tomahawks"],
             "parent": AID},
        ],
    }
)  # fmt: skip

PUBLISHED = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)  # a Thursday


@pytest.fixture(scope="module")
def extractor() -> RulesExtractor:
    return RulesExtractor(REGISTRY)


def run(
    extractor: RulesExtractor, *paragraphs: str, published: datetime = PUBLISHED
) -> list[ExtractedObservation]:
    text = "\n\n".join(paragraphs)
    observations = list(extractor.extract(ArticleText(text=text, published_at=published)))
    for observation in observations:
        assert text[observation.evidence_start : observation.evidence_end] == observation.evidence
    return observations


def keys(observations: list[ExtractedObservation]) -> set[tuple[str, str, str]]:
    return {(o.actor, o.topic, o.label) for o in observations}


def one(observations: list[ExtractedObservation], actor: str, topic: str = TROOPS) -> ExtractedObservation:
    found = [o for o in observations if o.actor == actor and o.topic == topic]
    assert len(found) == 1, observations
    return found[0]


# --- actors -----------------------------------------------------------------------------------


def test_titles_and_roles_resolve_to_the_person(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "French President Emmanuel Macron said on Tuesday that France was ready to send troops to Ukraine.",
        "The British prime minister said his country would deploy soldiers to Ukraine after a truce.",
    )
    assert keys(found) == {("emmanuel-macron", TROOPS, "support"), ("keir-starmer", TROOPS, "support")}
    assert one(found, "emmanuel-macron").speaker == "Emmanuel Macron"


def test_collectives_are_europe_and_the_coalition(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "European leaders said they were ready to put boots on the ground in Ukraine.",
        'Officials said the so-called "coalition of the willing" was now pledging troops for Ukraine.',
    )
    assert ("europe", TROOPS, "support") in keys(found)
    assert ("coalition-of-the-willing", TROOPS, "support") in keys(found)


def test_they_refers_to_a_recent_plural_collective_subject(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "European governments are shifting away from plans to send troops to Ukraine, diplomats said.",
        '"They are taking a step back from ground troops for now," one diplomat said.',
    )
    europe = one(found, "europe")
    [supporting] = europe.extras["supporting"]
    assert supporting["evidence"].startswith('"They are taking a step back')
    assert supporting["speaker"] == "one diplomat"


def test_they_does_not_reach_a_singular_collective_or_an_old_subject(extractor: RulesExtractor) -> None:
    claim = '"They are ready to send troops to Ukraine after a ceasefire," one diplomat said.'
    gathered = "gathered in Paris on Monday to discuss Ukraine."
    fresh = run(extractor, f"European governments {gathered}", claim)
    assert keys(fresh) == {("europe", TROOPS, "support")}
    assert one(fresh, "europe").speaker == "one diplomat"
    singular = run(extractor, f"The coalition {gathered}", claim)
    assert singular == []
    stale = run(
        extractor,
        f"European governments {gathered}",
        "The talks ran late.",
        "Dinner was served.",
        "A statement followed.",
        claim,
    )
    assert stale == []


def test_capitals_act_but_are_not_places(extractor: RulesExtractor) -> None:
    acting = run(extractor, "Moscow has repeatedly said it would never accept Western troops in Ukraine.")
    assert keys(acting) == {("russia", TROOPS, "oppose")}
    place = run(
        extractor,
        "At talks in Moscow, Lavrov said foreign soldiers in Ukraine were unacceptable.",
        "In Berlin, a spokesman for the chancery declined to discuss troops for Ukraine.",
    )
    assert {o.actor for o in place} == {"sergey-lavrov"}


def test_institution_spoken_for_by_an_official(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "White House deputy spokeswoman Jane Roe said weapons deliveries to Ukraine had been paused for a review.",
    )
    observation = one(found, "united-states", AID)
    assert observation.label == "oppose"
    assert observation.speaker == "White House deputy spokeswoman Jane Roe"


def test_an_aide_relaying_the_president_codes_the_president(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Kremlin aide Ivan Petrov said Putin had told callers that sending Tomahawks to Kyiv would damage "
        "relations with Washington.",
    )
    assert keys(found) == {("vladimir-putin", TOMAHAWK, "oppose")}
    assert one(found, "vladimir-putin", TOMAHAWK).speaker == "Kremlin aide Ivan Petrov"


def test_short_range_coreference(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Polish Prime Minister Donald Tusk spoke to reporters in Warsaw on Wednesday.",
        "He said Poland would not send its soldiers to Ukraine.",
    )
    assert keys(found) == {("donald-tusk", TROOPS, "oppose")}


def test_the_proposal_refers_back_to_the_plan_named_before(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Britain drew attention this week with plans for a reassurance force in Ukraine.",
        "Starmer has pressed ahead with the plan, visiting commanders on Tuesday.",
    )
    assert one(found, "keir-starmer").label == "support"
    assert one(found, "keir-starmer").observed_at == date(2025, 3, 18)
    # The antecedent names another subject: "the proposal" is not about troops.
    other = run(
        extractor,
        "Kyiv accepted a US proposal for a 30-day truce in talks with Russia on troops and prisoners.",
        "Zelensky said he welcomed the proposal.",
    )
    assert not [o for o in other if o.actor == "volodymyr-zelensky"]


# --- claimant attribution ----------------------------------------------------------------------


def test_anonymous_sources_are_speakers(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "European governments are stepping back from plans to send troops to Ukraine, officials said.",
    )
    observation = one(found, "europe")
    assert (observation.label, observation.shift) == ("oppose", True)
    assert observation.speaker == "officials"


def test_a_third_party_characterisation_is_not_the_actors_claim(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Trump said Europeans were eager to send troops to Ukraine and that the United States could help them "
        "from the air, but that no American soldiers would be deployed.",
    )
    assert "europe" not in {o.actor for o in found}
    trump = one(found, "donald-trump")
    assert (trump.label, trump.score) == ("mixed", -0.25)


def test_a_member_relays_its_groups_division(extractor: RulesExtractor) -> None:
    found = run(extractor, "Macron conceded that the coalition was divided over sending troops to Ukraine.")
    coalition = one(found, "coalition-of-the-willing")
    assert (coalition.label, coalition.score, coalition.speaker) == ("mixed", 0.0, "Emmanuel Macron")
    outsider = run(extractor, "Trump said the coalition was divided over sending troops to Ukraine.")
    assert "coalition-of-the-willing" not in {o.actor for o in outsider}


def test_relative_clause_claimant_with_its_own_date(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Washington agreed to end the pause on weapons deliveries to Ukraine that Trump had ordered on March 3, "
        "officials said.",
    )
    trump = one(found, "donald-trump", AID)
    assert (trump.label, trump.score, trump.observed_at, trump.shift) == (
        "oppose",
        -0.5,
        date(2025, 3, 3),
        True,
    )


def test_actors_in_conditional_and_subordinate_clauses_make_no_claim(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "If the United States halted its weapons deliveries to Ukraine, Peskov told reporters, that would be "
        "the best contribution to peace.",
        "The plan for troops in Ukraine, which emerged a day after Macron hosted leaders, offered a way forward.",
    )
    assert keys(found) == {("dmitry-peskov", AID, "oppose")}


# --- topics ------------------------------------------------------------------------------------


def test_child_topic_wins_over_parent(extractor: RulesExtractor) -> None:
    found = run(extractor, "Trump said on Monday he might send Tomahawks and other weapons to Ukraine.")
    assert {o.topic for o in found} == {TOMAHAWK}


def test_an_act_named_by_a_noun_keeps_its_topic_and_direction(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "The Pentagon has halted some weapons deliveries to Ukraine.",
        "Peskov welcomed the decision.",
    )
    assert one(found, "dmitry-peskov", AID).label == "oppose"
    pentagon = one(found, "us-department-of-defense", AID)
    assert (pentagon.label, pentagon.shift) == ("oppose", True)


def test_other_countries_own_aid_is_not_us_aid(extractor: RulesExtractor) -> None:
    found = run(extractor, "Britain has pledged billions of pounds in military aid to Ukraine.")
    assert found == []
    asked = run(extractor, "Zelensky asked Washington on Monday for more weapons for Ukraine.")
    assert keys(asked) == {("volodymyr-zelensky", AID, "support")}


# --- stance --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "label", "score"),
    [
        ("Lavrov said Russia will never agree to foreign troops in Ukraine.", "oppose", -1.0),
        ("Lavrov said Russia did not rule out troops from neutral countries in Ukraine.", "support", 0.5),
        (
            "Starmer said he was prepared to consider sending troops to Ukraine if a peace deal holds.",
            "support",
            0.5,
        ),
        ("Macron said Europe could provide soldiers to Ukraine if a truce is agreed.", "support", 1.0),
        ("Lavrov categorically rejected any deployment of troops in Ukraine.", "oppose", -1.0),
        (
            "Tusk said Poland would not send soldiers to Ukraine but would act as a logistics hub.",
            "mixed",
            -0.25,
        ),
        (
            "Zelensky welcomed the reassurance force for Ukraine but said many questions remained.",
            "support",
            0.5,
        ),
        ("Trump praised the European plan to deploy peacekeepers in Ukraine.", "support", 0.5),
        (
            "Macron said France would not send combat troops to the front line but left the door open to a small "
            "deployment in western Ukraine.",
            "support",
            0.5,
        ),
        (
            "Macron said several countries would deploy troops to Ukraine, even though the plan does not have "
            "the backing of every ally.",
            "support",
            1.0,
        ),
    ],
)
def test_stance_labels_and_scores(extractor: RulesExtractor, sentence: str, label: str, score: float) -> None:
    found = run(extractor, sentence)
    assert [(o.label, o.score) for o in found if o.topic == TROOPS] == [(label, score)]


def test_refusing_without_a_mandate_is_a_conditional_refusal(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Some European allies baulked at sending troops to Ukraine without an international mandate, "
        "diplomats said.",
    )
    europe = one(found, "europe")
    assert (europe.label, europe.score) == ("oppose", -0.5)


def test_cues_stay_in_their_clause(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Tusk told allies that Poland would decide on troops for Ukraine at the appropriate time, and would "
        "for now concentrate on training Ukrainian brigades.",
    )
    assert keys(found) == {("donald-tusk", TROOPS, "neutral"), ("donald-tusk", TRAINING, "support")}


# --- shift ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "European leaders are taking a step back from sending troops to Ukraine, officials said.",
        "Trump reversed course on Monday and said weapons deliveries to Ukraine would resume.",
        "Vance initially praised the troops proposal for Ukraine but has since mocked it.",
        "Starmer is no longer ready to send troops to Ukraine, aides said.",
        "Trump made a U-turn on Monday and said he would send Tomahawks to Ukraine.",
    ],
)
def test_shift_cues(extractor: RulesExtractor, sentence: str) -> None:
    found = run(extractor, sentence)
    assert found
    assert all(o.shift for o in found)


def test_a_contrast_between_two_actors_is_not_a_shift(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "European leaders put forward plans for a reassurance force for Ukraine last month.",
        "Although Trump initially praised the proposal last month, Vance has since mocked it as a pose.",
    )
    trump, vance = one(found, "donald-trump"), one(found, "jd-vance")
    assert (trump.label, trump.shift, trump.observed_at) == ("support", False, date(2025, 2, 1))
    assert (vance.label, vance.shift, vance.observed_at) == ("oppose", False, date(2025, 3, 20))


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "day"),
    [
        ("Lavrov said last month that troops in Ukraine were unacceptable.", date(2025, 2, 1)),
        ("Lavrov said in February that troops in Ukraine were unacceptable.", date(2025, 2, 1)),
        ("Lavrov said on Monday that troops in Ukraine were unacceptable.", date(2025, 3, 17)),
        ("Lavrov said on March 4 that troops in Ukraine were unacceptable.", date(2025, 3, 4)),
        ("Moscow has since said that troops in Ukraine were unacceptable.", date(2025, 3, 20)),
        ("Europe has previously committed to train Ukrainian soldiers.", date(2025, 3, 20)),
    ],
)
def test_dates_resolve_against_publication(extractor: RulesExtractor, sentence: str, day: date) -> None:
    found = run(extractor, sentence)
    assert found
    assert {o.observed_at for o in found} == {day}


def test_future_weekdays_do_not_date_a_claim(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Starmer said on Wednesday that Britain would send troops to Ukraine and that chiefs would meet on Friday.",
    )
    assert one(found, "keir-starmer").observed_at == date(2025, 3, 19)


def test_remarks_at_the_leads_event_take_its_day(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "PARIS, March 20 (Test Wire) - Macron said on Tuesday that France would send troops to Ukraine.",
        "Tusk told the same meeting that Poland would not send soldiers to Ukraine.",
    )
    assert one(found, "donald-tusk").observed_at == date(2025, 3, 18)


def test_two_dated_claims_by_one_claimant_in_one_sentence(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "LONDON, March 20 (Test Wire) - Leaders met on Wednesday.",
        "Starmer, who a day earlier said Britain was ready to send troops to Ukraine, said after the meeting "
        "that he was prepared to consider deploying soldiers if a truce holds.",
    )
    starmer = sorted((o.observed_at, o.score) for o in found if o.actor == "keir-starmer")
    assert starmer == [(date(2025, 3, 18), 1.0), (date(2025, 3, 19), 0.5)]


# --- distractors -----------------------------------------------------------------------------


def test_troops_in_other_senses_and_other_subjects_give_nothing(extractor: RulesExtractor) -> None:
    found = run(
        extractor,
        "Trump said National Guard troops would stay in Chicago, days after a summit on Ukraine.",
        "Macron's party is struggling to rally its troops behind a candidate, aides said.",
        "Starmer said tariffs on British steel were unacceptable and Britain would keep negotiating.",
    )
    assert found == []
