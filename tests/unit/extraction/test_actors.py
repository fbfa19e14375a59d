from __future__ import annotations

from datetime import date

from app.extraction.actors import ActorGazetteer
from app.extraction.attribution import Discourse, find_holders
from app.extraction.types import RegistrySnapshot

DAY = date(2025, 3, 1)


def test_acronyms_match_case_sensitively(registry: RegistrySnapshot) -> None:
    gazetteer = ActorGazetteer(registry)
    slugs = [m.slug for m in gazetteer.find("Let us ask the US and the eu, then the EU.", DAY)]
    assert slugs == ["united-states", "european-union"]


def test_longest_alias_wins_and_word_boundaries_hold(registry: RegistrySnapshot) -> None:
    gazetteer = ActorGazetteer(registry)
    mentions = gazetteer.find("President Donald Trump met Trumpeter Lavrovich and Sergei Lavrov.", DAY)
    assert [(m.text, m.slug) for m in mentions] == [
        ("President Donald Trump", "donald-trump"),
        ("Sergei Lavrov", "sergey-lavrov"),
    ]


def test_shared_alias_is_resolved_by_office_on_the_day(registry: RegistrySnapshot) -> None:
    gazetteer = ActorGazetteer(registry)
    text = "The German chancellor said no."
    assert gazetteer.find(text, date(2025, 2, 18))[0].slugs == ("olaf-scholz",)
    assert gazetteer.find(text, date(2025, 8, 18))[0].slugs == ("friedrich-merz",)


def _holders(registry: RegistrySnapshot, text: str) -> list[str]:
    gazetteer = ActorGazetteer(registry)
    mentions = gazetteer.find(text, DAY)
    return [h.slug for h in find_holders(text, mentions, Discourse(), gazetteer, DAY)]


def test_capital_counts_as_actor_only_when_it_acts(registry: RegistrySnapshot) -> None:
    assert _holders(registry, "Moscow has rejected any troops.") == ["russia"]
    assert _holders(registry, "The Kremlin warned against troops.") == ["russia"]
    assert _holders(registry, "In Moscow, an aide spoke about troops.") == []
    assert _holders(registry, "Leaders gathered before leaving Berlin for talks.") == []


def test_actor_inside_reported_speech_is_not_a_claimant(registry: RegistrySnapshot) -> None:
    assert _holders(registry, "Merz said Germany would not send troops.") == ["friedrich-merz"]


def test_pronoun_resolves_to_last_person(registry: RegistrySnapshot) -> None:
    gazetteer = ActorGazetteer(registry)
    discourse = Discourse(last_person="sergey-lavrov", last_subject_person="sergey-lavrov")
    text = "He said troops would be unacceptable."
    holders = find_holders(text, gazetteer.find(text, DAY), discourse, gazetteer, DAY)
    assert [(h.slug, h.direct) for h in holders] == [("sergey-lavrov", False)]
