from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Actor, ActorAlias, ActorMembership, Topic
from app.registry import context as registry_context
from app.registry import edits as registry
from app.registry.edits import STARTER_REGISTRY
from app.store import unit_of_work
from tests.pages import all_pages


def _starter() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(STARTER_REGISTRY.read_text(encoding="utf-8"))
    return data


def _row_counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Actor, ActorAlias, ActorMembership, Topic)
    )


def test_importing_the_same_registry_twice_changes_nothing(client: TestClient, session: Session) -> None:
    data = _starter()
    first = client.post("/v1/registry", json=data)
    assert first.status_code == 200, first.text
    assert first.json()["actors"]["created"] == len(data["actors"])
    assert first.json()["topics"]["created"] == len(data["topics"])
    counts = _row_counts(session)
    stamps = session.execute(select(Actor.slug, Actor.updated_at).order_by(Actor.slug)).all()

    second = client.post("/v1/registry", json=data).json()
    assert second["actors"] == {"created": 0, "updated": 0, "unchanged": len(data["actors"])}
    assert second["topics"] == {"created": 0, "updated": 0, "unchanged": len(data["topics"])}
    assert _row_counts(session) == counts
    assert session.execute(select(Actor.slug, Actor.updated_at).order_by(Actor.slug)).all() == stamps


def test_reimport_with_a_change_updates_only_that_actor(client: TestClient) -> None:
    data = _starter()
    client.post("/v1/registry", json=data)
    for actor in data["actors"]:
        if actor["slug"] == "emmanuel-macron":
            actor["aliases"].append("the French head of state")
    result = client.post("/v1/registry", json=data).json()
    assert result["actors"]["updated"] == 1
    assert "the French head of state" in client.get("/v1/actors/emmanuel-macron").json()["aliases"]


def test_actor_detail_has_aliases_and_dated_memberships(client: TestClient) -> None:
    client.post("/v1/registry", json=_starter())
    body = client.get("/v1/actors/united-kingdom").json()
    assert "Downing Street" in body["aliases"]
    eu = [m for m in body["memberships"] if m["parent"] == "european-union"]
    assert eu == [
        {"parent": "european-union", "role": "member state", "from": "1973-01-01", "to": "2020-01-31"}
    ]


def test_membership_parent_may_come_later_in_the_file(client: TestClient) -> None:
    data = {
        "actors": [
            {
                "slug": "jane-doe",
                "name": "Jane Doe",
                "kind": "person",
                "memberships": [
                    {"parent": "freedonia", "role": "president", "from": "2020-01-01", "to": None}
                ],
            },
            {"slug": "freedonia", "name": "Freedonia", "kind": "state", "aliases": ["Freedonia"]},
        ]
    }
    assert client.post("/v1/registry", json=data).status_code == 200
    assert client.get("/v1/actors/jane-doe").json()["memberships"][0]["parent"] == "freedonia"


def test_registry_with_an_unknown_parent_stores_nothing(client: TestClient, session: Session) -> None:
    data = {
        "actors": [
            {
                "slug": "jane-doe",
                "name": "Jane Doe",
                "kind": "person",
                "memberships": [{"parent": "atlantis"}],
            }
        ]
    }
    response = client.post("/v1/registry", json=data)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "actors[0].memberships[0].parent"
    assert _row_counts(session) == (0, 0, 0, 0)


def test_create_get_and_patch_an_actor(client: TestClient) -> None:
    client.post("/v1/actors", json={"slug": "france", "name": "France", "kind": "state"})
    created = client.post(
        "/v1/actors",
        json={
            "slug": "emmanuel-macron",
            "name": "Emmanuel Macron",
            "kind": "person",
            "aliases": ["Macron"],
            "memberships": [{"parent": "france", "role": "president", "from": "2017-05-14"}],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["memberships"][0] == {
        "parent": "france",
        "role": "president",
        "from": "2017-05-14",
        "to": None,
    }

    patched = client.patch("/v1/actors/emmanuel-macron", json={"aliases": ["Macron", "the Elysee chief"]})
    assert patched.status_code == 200
    assert patched.json()["aliases"] == ["Macron", "the Elysee chief"]
    assert patched.json()["memberships"][0]["parent"] == "france"

    # the same actor again is the stored one (200); the slug with other fields is a 409 on `slug`
    again = client.post("/v1/actors", json={"slug": "france", "name": "France", "kind": "state"})
    assert (again.status_code, again.json()["slug"]) == (200, "france")
    duplicate = client.post("/v1/actors", json={"slug": "france", "name": "French Republic", "kind": "state"})
    assert duplicate.status_code == 409
    assert (duplicate.json()["error"]["code"], duplicate.json()["error"]["field"]) == ("actor_exists", "slug")


def test_actor_errors_name_the_field(client: TestClient) -> None:
    bad_kind = client.post("/v1/actors", json={"slug": "x", "name": "X", "kind": "planet"})
    assert bad_kind.status_code == 422
    assert bad_kind.json()["error"]["field"] == "kind"
    bad_slug = client.post("/v1/actors", json={"slug": "Not A Slug", "name": "X", "kind": "state"})
    assert bad_slug.json()["error"]["field"] == "slug"
    unknown_parent = client.post(
        "/v1/actors", json={"slug": "x", "name": "X", "kind": "state", "memberships": [{"parent": "nowhere"}]}
    )
    assert unknown_parent.status_code == 422
    assert unknown_parent.json()["error"]["field"] == "memberships[0].parent"
    assert client.get("/v1/actors/nobody").status_code == 404
    assert client.patch("/v1/actors/nobody", json={"name": "N"}).status_code == 404


def test_list_actors_filters_and_pages(client: TestClient) -> None:
    client.post("/v1/registry", json=_starter())
    persons = client.get("/v1/actors", params={"kind": "person", "limit": 1000}).json()["items"]
    assert persons
    assert all(a["kind"] == "person" for a in persons)
    items, _ = all_pages(client, "/v1/actors", limit=10)
    slugs = [a["slug"] for a in items]
    assert slugs == sorted(slugs)
    assert len(slugs) == len(_starter()["actors"])


def test_topics_create_patch_parent_and_errors(client: TestClient) -> None:
    parent = {"slug": "us-military-aid-ukraine", "name": "US military aid", "keywords": ["military aid"]}
    child = {
        "slug": "tomahawk-missiles-ukraine",
        "name": "Tomahawks",
        "keywords": ["Tomahawk"],
        "parent": "us-military-aid-ukraine",
    }
    assert client.post("/v1/topics", json=parent).status_code == 201
    created = client.post("/v1/topics", json=child)
    assert created.status_code == 201
    assert created.json()["parent"] == "us-military-aid-ukraine"

    patched = client.patch(
        "/v1/topics/tomahawk-missiles-ukraine", json={"keywords": ["Tomahawk", "Tomahawks"]}
    )
    assert patched.json()["keywords"] == ["Tomahawk", "Tomahawks"]
    assert patched.json()["parent"] == "us-military-aid-ukraine"
    cleared = client.patch("/v1/topics/tomahawk-missiles-ukraine", json={"parent": None})
    assert cleared.json()["parent"] is None

    cycle = client.patch("/v1/topics/us-military-aid-ukraine", json={"parent": "us-military-aid-ukraine"})
    assert cycle.status_code == 422
    assert cycle.json()["error"]["field"] == "parent"
    unknown = client.post("/v1/topics", json={"slug": "t", "name": "T", "parent": "missing"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "parent"
    assert [t["slug"] for t in client.get("/v1/topics").json()["items"]] == [
        "tomahawk-missiles-ukraine",
        "us-military-aid-ukraine",
    ]


def test_actor_search_is_literal(client: TestClient) -> None:
    client.post("/v1/registry", json=_starter())
    assert [a["slug"] for a in client.get("/v1/actors", params={"q": "macron"}).json()["items"]] == [
        "emmanuel-macron"
    ]
    assert client.get("/v1/actors", params={"q": "%"}).json()["items"] == []
    assert client.get("/v1/actors", params={"q": "_"}).json()["items"] == []


BEEKEEPING = {
    "slug": "urban-beekeeping",
    "name": "Beehives on city rooftops",
    "keywords": ["beehive", "apiary", "beekeepers", "honey", "swarm"],
    "weak_keywords": ["honey", "swarm", "honey"],
    "excluded_phrases": ["honey trap", "swarm of reporters"],
    "relevance_threshold": 0.4,
}


def _topic_fields(body: dict[str, Any]) -> tuple[Any, ...]:
    return body["weak_keywords"], body["excluded_phrases"], body["relevance_threshold"]


def test_topic_relevance_fields_are_stored_read_and_patched(client: TestClient, session: Session) -> None:
    created = client.post("/v1/topics", json=BEEKEEPING)
    assert created.status_code == 201, created.text
    expected = (["honey", "swarm"], ["honey trap", "swarm of reporters"], 0.4)  # duplicates dropped
    assert _topic_fields(created.json()) == expected
    assert _topic_fields(client.get("/v1/topics/urban-beekeeping").json()) == expected
    listed = client.get("/v1/topics").json()["items"]
    assert [_topic_fields(t) for t in listed] == [expected]

    plain = client.post("/v1/topics", json={"slug": "four-day-week", "name": "A four-day working week"})
    assert _topic_fields(plain.json()) == ([], [], None)

    revision = unit_of_work.get_registry_revision(session)
    patched = client.patch("/v1/topics/urban-beekeeping", json={"weak_keywords": ["colony"]})
    assert patched.status_code == 200, patched.text
    # a list given replaces the list; fields left out stay as they are
    assert _topic_fields(patched.json()) == (["colony"], ["honey trap", "swarm of reporters"], 0.4)
    assert unit_of_work.get_registry_revision(session) > revision
    patched = client.patch(
        "/v1/topics/urban-beekeeping", json={"excluded_phrases": [], "relevance_threshold": 0.75}
    )
    assert _topic_fields(patched.json()) == (["colony"], [], 0.75)
    untouched = client.patch("/v1/topics/urban-beekeeping", json={"name": "Rooftop beehives"})
    assert _topic_fields(untouched.json()) == (["colony"], [], 0.75)
    cleared = client.patch("/v1/topics/urban-beekeeping", json={"relevance_threshold": None})
    assert _topic_fields(cleared.json()) == (["colony"], [], None)

    # what the extractor is given
    entry = next(
        t
        for t in registry_context.load_registry_context(session).snapshot.topics
        if t.slug == "urban-beekeeping"
    )
    assert (entry.weak_keywords, entry.excluded_phrases, entry.relevance_threshold) == (("colony",), (), None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"relevance_threshold": 1.5}, "relevance_threshold"),
        ({"relevance_threshold": -0.1}, "relevance_threshold"),
        ({"relevance_threshold": "high"}, "relevance_threshold"),
        ({"weak_keywords": "honey"}, "weak_keywords"),
        ({"excluded_phrases": {"phrase": "honey trap"}}, "excluded_phrases"),
        ({"weak_keywords": ["honey", "  "]}, "weak_keywords[1]"),
        ({"excluded_phrases": ["x" * 301]}, "excluded_phrases[0]"),
    ],
)
def test_bad_topic_relevance_fields_are_refused_naming_the_field(
    client: TestClient, session: Session, change: dict[str, Any], field: str
) -> None:
    created = client.post("/v1/topics", json={**BEEKEEPING, **change})
    assert created.status_code == 422, created.text
    assert created.json()["error"]["field"] == field
    assert _row_counts(session) == (0, 0, 0, 0)

    assert client.post("/v1/topics", json=BEEKEEPING).status_code == 201
    patched = client.patch("/v1/topics/urban-beekeeping", json=change)
    assert patched.status_code == 422, patched.text
    assert patched.json()["error"]["field"] == field
    assert _topic_fields(client.get("/v1/topics/urban-beekeeping").json()) == (
        ["honey", "swarm"],
        ["honey trap", "swarm of reporters"],
        0.4,
    )
    imported = client.post("/v1/registry", json={"topics": [{**BEEKEEPING, **change}]})
    assert imported.status_code == 422
    assert imported.json()["error"]["field"] == f"topics[0].{field}"


def test_registry_file_loads_with_and_without_relevance_fields(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    old_format = tmp_path / "old.json"
    old_format.write_text(
        json.dumps(
            {"topics": [{"slug": "four-day-week", "name": "Four-day week", "keywords": ["four-day week"]}]}
        )
    )
    new_format = tmp_path / "new.json"
    new_format.write_text(json.dumps({"topics": [BEEKEEPING]}))

    first = registry.import_registry(session, registry.read_registry_file(old_format))
    assert first.topics.created == 1
    second = registry.import_registry(session, registry.read_registry_file(new_format))
    assert second.topics.created == 1
    session.flush()
    assert _topic_fields(client.get("/v1/topics/four-day-week").json()) == ([], [], None)
    assert _topic_fields(client.get("/v1/topics/urban-beekeeping").json()) == (
        ["honey", "swarm"],
        ["honey trap", "swarm of reporters"],
        0.4,
    )

    # loading the same file again changes nothing; a change to one of the new fields alone is an update
    revision = unit_of_work.get_registry_revision(session)
    again = registry.import_registry(session, registry.read_registry_file(new_format))
    assert (again.topics.unchanged, again.topics.updated) == (1, 0)
    assert unit_of_work.get_registry_revision(session) == revision
    new_format.write_text(json.dumps({"topics": [{**BEEKEEPING, "relevance_threshold": 0.6}]}))
    changed = registry.import_registry(session, registry.read_registry_file(new_format))
    assert (changed.topics.unchanged, changed.topics.updated) == (0, 1)
    assert unit_of_work.get_registry_revision(session) > revision
    assert client.get("/v1/topics/urban-beekeeping").json()["relevance_threshold"] == 0.6
    # the file is the whole topic: one without the fields sets them back to empty and unset
    new_format.write_text(
        json.dumps({"topics": [{k: v for k, v in BEEKEEPING.items() if k in ("slug", "name", "keywords")}]})
    )
    registry.import_registry(session, registry.read_registry_file(new_format))
    assert _topic_fields(client.get("/v1/topics/urban-beekeeping").json()) == ([], [], None)


def test_starter_topics_carry_their_relevance_fields(client: TestClient) -> None:
    data = _starter()
    assert client.post("/v1/registry", json=data).status_code == 200
    for topic in data["topics"]:
        body = client.get(f"/v1/topics/{topic['slug']}").json()
        assert _topic_fields(body) == (
            topic.get("weak_keywords", []),
            topic.get("excluded_phrases", []),
            topic.get("relevance_threshold"),
        )
    assert any(topic.get("weak_keywords") for topic in data["topics"])
    assert any(topic.get("excluded_phrases") for topic in data["topics"])
