"""A topic nobody shipped: a user defines a topic and its actors through the API, posts articles,
and reads back who holds which stance, on a server that also holds the starter pack.

The topic (a hydroelectric dam on the Ostvik river in the invented state of Brennland), its actors
and the articles were written for this test. Nothing depends on a word of the starter pack: no
starter actor or topic is named, and the stances come from the new registry entries alone.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import article_payload

pytestmark = pytest.mark.usefixtures("starter_registry")

DAM = "ostvik-dam"

TOPIC = {
    "slug": DAM,
    "name": "The Ostvik hydroelectric dam",
    "description": (
        "Plans for a hydroelectric dam on the Ostvik river. Financing or building the dam is support; "
        "scrapping, delaying or downsizing it is opposition."
    ),
    "keywords": ["Ostvik dam", "hydroelectric dam", "Ostvik reservoir"],
    "examples": ["The minister said the Ostvik dam would supply power to half the region."],
}

# parents first: a membership names an actor that exists already
ACTORS: list[dict[str, Any]] = [
    # Halvik is the capital: it stands for Brennland when it acts, not when it is a place
    {"slug": "brennland", "name": "Brennland", "kind": "state", "aliases": ["Brennland", "Halvik"]},
    {
        "slug": "ingrid-marsh",
        "name": "Ingrid Marsh",
        "kind": "person",
        "aliases": ["Ingrid Marsh", "Marsh", "Energy Minister Ingrid Marsh"],
        "memberships": [{"parent": "brennland", "role": "energy minister", "from": "2023-01-01"}],
    },
    {
        "slug": "brennland-farmers-union",
        "name": "Brennland Farmers Union",
        "kind": "organization",
        "aliases": ["the Brennland Farmers Union", "the farmers' union"],
    },
    {
        "slug": "salmon-rivers-trust",
        "name": "Salmon Rivers Trust",
        "kind": "organization",
        "aliases": ["the Salmon Rivers Trust"],
    },
    {
        "slug": "ostvik-council",
        "name": "Ostvik Municipal Council",
        "kind": "organization",
        "aliases": ["Ostvik Municipal Council", "the Ostvik council"],
    },
]

# (published_at, text, expected (actor, label, observed day))
ARTICLES: list[tuple[str, str, set[tuple[str, str, str]]]] = [
    (
        "2025-06-02T07:00:00Z",
        "HALVIK, June 2 (Test Wire) - Energy Minister Ingrid Marsh said on Sunday that Brennland would "
        "finance the Ostvik dam from next year.\n\n"
        "The Salmon Rivers Trust rejected the hydroelectric dam, saying it would destroy the river's "
        "salmon runs.",
        # reported speech is the minister's claim, not Brennland's
        {("ingrid-marsh", "support", "2025-06-01"), ("salmon-rivers-trust", "oppose", "2025-06-01")},
    ),
    (
        "2025-06-05T07:00:00Z",
        "Halvik has approved the Ostvik dam, officials said on Thursday.\n\n"
        "At a rally in Halvik, the farmers' union warned against the Ostvik dam, which would flood "
        "grazing land.",
        # the capital acts in the first sentence and is only a place in the second
        {("brennland", "support", "2025-06-05"), ("brennland-farmers-union", "oppose", "2025-06-05")},
    ),
    (
        "2025-06-10T07:00:00Z",
        "The Ostvik council abstained on the Ostvik dam on Monday.\n\n"
        "The farmers' union is expected to back a smaller reservoir.",
        # abstaining is neutral; an expectation is no claim
        {("ostvik-council", "neutral", "2025-06-09")},
    ),
    (
        "2025-06-12T07:00:00Z",
        "Ingrid Marsh visited the valley on Wednesday.\n\n"
        "She said the Ostvik dam was essential for the region and should never be downsized.",
        # "she" is the minister; "downsized" is opposition by the topic's own description
        {("ingrid-marsh", "support", "2025-06-11")},
    ),
]


def _post_article(client: TestClient, published_at: str, text: str) -> dict[str, Any]:
    payload = article_payload(published_at=published_at, text=text, title="Ostvik dam", source="Test Wire")
    response = client.post(client.app.url_path_for("create_article"), json=payload)  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _observations(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    url = client.app.url_path_for("list_observations")  # type: ignore[attr-defined]
    response = client.get(url, params={**params, "limit": 1000})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _define_topic_and_actors(client: TestClient) -> None:
    created = client.post("/v1/topics", json=TOPIC)
    assert created.status_code == 201, created.text
    for actor in ACTORS:
        response = client.post("/v1/actors", json=actor)
        assert response.status_code == 201, response.text


def test_a_topic_defined_through_the_api_is_extracted(client: TestClient) -> None:
    assert client.get("/v1/actors/france").status_code == 200  # the starter pack is there
    published_at, text, _ = ARTICLES[0]
    before = _post_article(client, published_at, text)
    assert before["observations"] == 0  # nobody shipped this topic

    _define_topic_and_actors(client)
    for published_at, text, expected in ARTICLES:
        body = _post_article(client, published_at, text)
        items = _observations(client, article=body["article_id"])
        found = {(o["actor"], o["label"], o["observed_at"][:10]) for o in items}
        assert found == expected, text
        assert body["observations"] == len(items) == len(expected)
        for observation in items:
            assert observation["topic"] == DAM
            assert observation["method"] == "rules"
            assert (
                text[observation["evidence_start"] : observation["evidence_end"]] == observation["evidence"]
            )

    on_topic = _observations(client, topic=DAM)
    assert len(on_topic) == sum(len(expected) for _, _, expected in ARTICLES)
    assert {o["topic"] for o in _observations(client)} == {DAM}  # no starter topic was touched
    brennland = _observations(client, actor="brennland")
    assert [(o["label"], o["speaker"]) for o in brennland] == [("support", "officials")]
    marsh = _observations(client, actor="ingrid-marsh")
    assert [o["observed_at"][:10] for o in marsh] == ["2025-06-01", "2025-06-11"]  # ordered by observed_at
