"""Which stored articles a registry change reaches: the terms are a superset test of what the
extractor matches (app.extraction.relevance and actors), so no article it could match is left out."""

from __future__ import annotations

import json
import re

import pytest

from app.extraction.relevance import TopicIndex, keyword_pattern
from app.extraction.types import RegistrySnapshot, TopicEntry
from app.registry import reach
from app.registry.edits import STARTER_REGISTRY

# (keyword, a text the keyword matcher finds it in)
KEYWORD_TEXTS = [
    ("bike lane", "The council painted new bike lanes on Dock Street."),
    ("bike lane", "a bike-lane plan"),
    ("bike lane", "the BIKE   LANE network"),
    ("parking policy", "two parking policies"),
    ("congestion charge", "charging drivers a congestion charging fee"),
    ("defence budget", "the defense budget"),
    ("road safety", "road-safety rules"),
    ("favour", "it was not in favor"),
    ("organise", "they organised a vote"),
    ("organisation", "the organization said"),
    ("pedestrianise scheme", "a pedestrianize schemes"),
    ("deploy", "the deployment of wardens"),
    ("ferry", "two ferries"),
    ("opt-out", "an opt out clause"),
    ("Dock Street", "the dock street works"),
    ("G-7 summit", "the g-7 summits"),
    ("5% levy", "a 5% levies"),
    ("Lakeford", "Lakefords"),
]


@pytest.mark.parametrize(("keyword", "text"), KEYWORD_TEXTS)
def test_a_keyword_term_finds_every_text_the_keyword_matcher_finds(keyword: str, text: str) -> None:
    assert re.search(keyword_pattern(keyword), text, re.IGNORECASE), "the sample must be a real match"
    assert reach.matches(reach.keyword_term(keyword), text)


def test_starter_keywords_and_their_inflections_are_found() -> None:
    data = json.loads(STARTER_REGISTRY.read_text(encoding="utf-8"))
    checked = 0
    for topic in data["topics"]:
        for keyword in [*topic.get("keywords", []), *topic.get("weak_keywords", [])]:
            term = reach.keyword_term(keyword)
            pattern = re.compile(keyword_pattern(keyword), re.IGNORECASE)
            for suffix in ("", "s", "es", "ed", "ing", "ment"):
                for text in (f"x {keyword}{suffix} y", f"x {keyword[:-1]}ies y", f"x {keyword[:-1]}ing y"):
                    if pattern.search(text):
                        checked += 1
                        assert reach.matches(term, text), (keyword, text)
    assert checked > 100


def test_an_unrelated_text_is_not_reached() -> None:
    terms = reach.topic_terms(
        name="Bike lanes on Dock Street", keywords=["bike lane", "cycle lane"], weak_keywords=["cycling"]
    ).terms
    assert not any(
        reach.matches(t, "The Harwick library reopens after its roof was repaired.") for t in terms
    )
    assert not any(reach.matches(t, "Traffic on Dock Street was slow.") for t in terms)


def test_a_head_noun_near_a_name_of_the_topic_is_reached() -> None:
    """ "the Dock Street lanes" names the topic without a keyword (relevance's compound hits)."""
    entry = TopicEntry(slug="lanes", name="Bike lanes on Dock Street", keywords=("bike lane",))
    index = TopicIndex(RegistrySnapshot(actors=(), topics=(entry,)))
    terms = reach.topic_terms(name=entry.name, keywords=entry.keywords, weak_keywords=()).terms
    for text in ("The Dock Street lanes opened.", "The lanes on Dock Street opened."):
        assert index.hits(text), text
        assert any(reach.matches(t, text) for t in terms), text


def test_actor_terms_follow_the_gazetteer() -> None:
    terms = reach.actor_terms(name="Harwick City Council", aliases=["the council", "Mayor Tessa Lund"])
    assert ("harwick city council",) in terms
    assert ("council",) in terms  # "the council" is also matched without its article
    assert reach.matches(("mayor tessa lund",), "MAYOR TESSA LUND said")
    # non-ASCII letters are gaps: SQLite's lower() does not fold them
    assert reach.alias_term("Émile Durand") == ("mile durand",)


def test_a_selection_narrows_only_where_terms_can() -> None:
    topic = reach.topic_change(
        None, reach.topic_terms(name="Bike lanes", keywords=["bike lane"], weak_keywords=[], definition=(1,))
    )
    assert topic.selection(engine="rules") == [["bike", "lan"]]
    assert topic.selection(engine="embeddings") is None, "similarity can find a topic in any sentence"
    actor = reach.actor_change(None, (1,), terms_before=frozenset(), terms_after=frozenset({("lund",)}))
    assert actor.selection(engine="embeddings") == [["lund"]]
    assert actor.union(topic).selection(engine="rules") == [["bike", "lan"], ["lund"]]
    no_terms = reach.topic_change(None, reach.topic_terms(name="x", keywords=[], weak_keywords=[]))
    assert no_terms.selection(engine="rules") is None, "nothing narrows: every article"
    many = reach.Reach(True, frozenset((f"word{i}",) for i in range(reach.MAX_TERMS + 1)))
    assert many.selection(engine="rules") is None
    same = reach.topic_terms(name="Bike lanes", keywords=["bike lane"], weak_keywords=[], definition=(1,))
    assert not reach.topic_change(same, same).changed
    assert not reach.NOTHING.union(reach.NOTHING).changed
