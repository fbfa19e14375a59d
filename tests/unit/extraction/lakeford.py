"""An invented town for the extraction tests: Lakeford, its council, unions and mayor, in the state of Norland.

Nothing here comes from the development corpora (`shared/corpus`, `shared/corpora`): the actors,
topics and sentences were written for these tests, so that they check the engine's general
English rules, not what it was tuned on. The registry exercises every field the extractor reads:
a capital standing for its state (Riverton), an acronym (CAN), a role alias shared by two
ministers in turn, a ministry between a minister and the state, weak keywords, excluded
phrases, a topic description that says what counts as support, and a child topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.extraction.types import ArticleText, ExtractedObservation, Extractor, RegistrySnapshot

PUBLISHED = datetime(2025, 5, 14, 9, 0, tzinfo=UTC)  # a Wednesday
DAY = PUBLISHED.date()

CHARGE = "congestion-charge"
BAG_BAN = "plastic-bag-ban"
WEEK = "four-day-week"
WIND = "gull-bank-wind-farm"
DAM = "hollow-creek-dam"
UNIFORMS = "school-uniforms"
QUOTAS = "fishing-quotas"
COD = "cod-quota"

WIND_DESCRIPTION = "Licensing or building the wind farm is support; relocating or shrinking it is opposition."


def _person(
    slug: str, name: str, aliases: list[str], parent: str, role: str, start: str, end: str | None = None
) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": name,
        "kind": "person",
        "aliases": aliases,
        "memberships": [{"parent": parent, "role": role, "from": start, "to": end}],
    }


def _organization(slug: str, name: str, aliases: list[str], parent: str | None = None) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": name,
        "kind": "organization",
        "aliases": aliases,
        "memberships": [{"parent": parent}] if parent else [],
    }


REGISTRY: dict[str, Any] = {
    "actors": [
        # "Riverton" is the capital: it stands for Norland only when it acts
        {"slug": "norland", "name": "Norland", "kind": "state",
         "aliases": ["Norland", "Riverton", "the Norland government"]},
        {"slug": "sudavia", "name": "Sudavia", "kind": "state", "aliases": ["Sudavia", "Kessenburg"]},
        _organization("lakeford-council", "Lakeford City Council",
                      ["Lakeford City Council", "the city council", "the council"]),
        _person("clara-voss", "Clara Voss", ["Clara Voss", "Voss", "Mayor Clara Voss"],
                "lakeford-council", "mayor", "2022-01-01"),
        _organization("transit-union", "Lakeford Transit Workers Union",
                      ["the Transit Workers Union", "the transit union"]),
        _organization("teachers-union", "National Teachers Union",
                      ["the National Teachers Union", "the teachers' union"]),
        _organization("fishers-association", "Coastal Fishers Association",
                      ["the Coastal Fishers Association", "the fishers' association"]),
        _organization("chamber-of-commerce", "Lakeford Chamber of Commerce",
                      ["the Lakeford Chamber of Commerce", "the chamber of commerce"]),
        _organization("coastal-action", "Coastal Action Network", ["Coastal Action Network", "CAN"]),
        _organization("environment-ministry", "Norland Environment Ministry",
                      ["the environment ministry", "the Norland environment ministry"], parent="norland"),
        # two environment ministers in turn share the role alias
        _person("petra-halvorsen", "Petra Halvorsen",
                ["Petra Halvorsen", "Halvorsen", "the Norland environment minister"],
                "environment-ministry", "environment minister", "2024-06-01"),
        _person("lars-eriksen", "Lars Eriksen", ["Lars Eriksen", "Eriksen", "the Norland environment minister"],
                "environment-ministry", "environment minister", "2019-01-01", "2024-05-31"),
        {"slug": "green-party", "name": "Green Party", "kind": "group", "aliases": ["the Green Party", "the Greens"]},
    ],
    "topics": [
        {"slug": CHARGE, "name": "Lakeford congestion charge",
         "description": "A daily fee for driving into central Lakeford.",
         "keywords": ["congestion charge", "congestion fee"], "weak_keywords": ["toll"],
         "examples": ["The mayor said drivers would pay a daily fee to enter the centre."]},
        {"slug": BAG_BAN, "name": "Ban on single-use plastic bags", "keywords": ["plastic bag ban", "plastic bags"]},
        {"slug": WEEK, "name": "A four-day working week",
         "keywords": ["four-day week", "four-day working week", "shorter working week"]},
        {"slug": WIND, "name": "Offshore wind farm at Gull Bank", "description": WIND_DESCRIPTION,
         "keywords": ["Gull Bank wind farm", "offshore wind farm", "turbines"],
         "excluded_phrases": ["gas turbines"]},
        # "the proposed reservoir on Hollow Creek" names it without a keyword
        {"slug": DAM, "name": "The Hollow Creek dam project",
         "keywords": ["Hollow Creek dam", "Hollow Creek reservoir"]},
        {"slug": UNIFORMS, "name": "Compulsory school uniforms", "keywords": ["school uniforms", "uniform policy"]},
        {"slug": QUOTAS, "name": "Fishing quotas in the Grey Sea", "keywords": ["fishing quotas", "catch limits"]},
        {"slug": COD, "name": "Cod quota in the Grey Sea", "keywords": ["cod quota", "cod catch"],
         "parent": QUOTAS},
    ],
}  # fmt: skip

SNAPSHOT = RegistrySnapshot.from_dict(REGISTRY)


def extract(
    extractor: Extractor, *paragraphs: str, published: datetime = PUBLISHED, title: str | None = None
) -> list[ExtractedObservation]:
    """Observations of an article made of `paragraphs`; every evidence is checked against the text."""
    text = "\n\n".join(paragraphs)
    found = list(extractor.extract(ArticleText(text=text, published_at=published, title=title)))
    for observation in found:
        assert text[observation.evidence_start : observation.evidence_end] == observation.evidence
        assert 0.0 <= observation.confidence <= 1.0
    return found


def keys(observations: Sequence[ExtractedObservation]) -> set[tuple[str, str, str]]:
    return {(o.actor, o.topic, o.label) for o in observations}


def one(observations: Sequence[ExtractedObservation], actor: str, topic: str) -> ExtractedObservation:
    found = [o for o in observations if o.actor == actor and o.topic == topic]
    assert len(found) == 1, observations
    return found[0]
