"""Concurrent registry writes and article revisions on a real database (issue 15, items 3 and 9):
a replaced list is one of the lists sent, never a merge; an identical create, an overlapping
import or a revision that lost a race answers as if it came second, never with a 409 naming a
database constraint."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.models import Actor, ActorAlias, ActorMembership, Article, ArticleRevision, Observation, Topic
from app.ops import migrate
from app.registry.edits import STARTER_REGISTRY
from tests.conftest import ENGINES, create_database
from tests.factories import admin_headers, article_payload

T = TypeVar("T")
WRITERS = 16
Live = tuple[TestClient, Callable[[], Session]]
_names = itertools.count(1)


@pytest.fixture(scope="module", params=ENGINES)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One migrated database per engine for the module; every test uses slugs and urls of its own."""
    url, drop = create_database(request.param, tmp_path_factory.mktemp("races"))
    migrate.upgrade(url)
    settings = Settings(database_url=url, shift_detection="off")
    engine = make_engine(settings)
    try:
        with TestClient(create_app(settings), headers=admin_headers(url)) as client:
            starter = orjson.loads(STARTER_REGISTRY.read_bytes())
            assert client.post("/v1/registry", json=starter).status_code == 200
            yield client, make_sessionmaker(engine)
    finally:
        engine.dispose()
        drop()


def _all_at_once(work: Callable[[int], T], count: int = WRITERS) -> list[T]:
    """Run `work(i)` for i in range(count) on `count` threads released together."""
    start = threading.Barrier(count)

    def run(i: int) -> T:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _slug(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def _no_constraint_conflicts(responses: list[httpx.Response]) -> None:
    for response in responses:
        if response.status_code == 409:
            error = response.json()["error"]
            assert "constraint" not in error, response.text
            assert error["field"] == "slug", response.text


def test_parallel_patches_replace_the_lists_never_merge(live: Live) -> None:
    client, sessions = live
    parents = [_slug("bloc") for _ in range(3)]
    for parent in parents:
        assert (
            client.post("/v1/actors", json={"slug": parent, "name": parent, "kind": "bloc"}).status_code
            == 201
        )
    slug = _slug("minister")
    created = client.post(
        "/v1/actors",
        json={"slug": slug, "name": "A minister", "kind": "person", "aliases": ["first", "second"]},
    )
    assert created.status_code == 201, created.text

    def body(i: int) -> dict[str, Any]:
        return {
            "aliases": [f"alias {i}a", f"alias {i}b", f"alias {i}c"],
            "memberships": [
                {"parent": parents[i % 3], "role": f"role {i}"},
                {"parent": parents[(i + 1) % 3], "role": f"role {i}"},
            ],
        }

    def lists(actor: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
        return actor["aliases"], [(m["parent"], m["role"]) for m in actor["memberships"]]

    sent = [lists(body(i)) for i in range(WRITERS)]
    responses = _all_at_once(lambda i: client.patch(f"/v1/actors/{slug}", json=body(i)))
    assert [r.status_code for r in responses] == [200] * WRITERS, [r.text for r in responses]
    # each request saw its own lists, whole
    assert [lists(r.json()) for r in responses] == sent

    final = lists(client.get(f"/v1/actors/{slug}").json())
    assert final in sent
    with sessions() as session:
        actor_id = session.scalars(select(Actor.id).where(Actor.slug == slug)).one()
        aliases = session.scalar(select(func.count()).where(ActorAlias.actor_id == actor_id))
        memberships = session.scalar(select(func.count()).where(ActorMembership.actor_id == actor_id))
    assert (aliases, memberships) == (3, 2)


def test_parallel_topic_patches_keep_one_list(live: Live) -> None:
    client, _ = live
    slug = _slug("topic")
    assert client.post("/v1/topics", json={"slug": slug, "name": "T", "keywords": ["x"]}).status_code == 201

    def body(i: int) -> dict[str, Any]:
        return {"keywords": [f"kw {i}a", f"kw {i}b"], "examples": [f"Example sentence {i}."]}

    responses = _all_at_once(lambda i: client.patch(f"/v1/topics/{slug}", json=body(i)))
    assert [r.status_code for r in responses] == [200] * WRITERS, [r.text for r in responses]
    final = client.get(f"/v1/topics/{slug}").json()
    assert {"keywords": final["keywords"], "examples": final["examples"]} in [body(i) for i in range(WRITERS)]


@pytest.mark.parametrize("resource", ["actors", "topics"])
def test_identical_creations_answer_as_if_they_came_second(live: Live, resource: str) -> None:
    client, sessions = live
    slug = _slug(resource)
    body: dict[str, Any] = (
        {"slug": slug, "name": "Same", "kind": "group", "aliases": ["Same one", "Same"]}
        if resource == "actors"
        else {"slug": slug, "name": "Same", "keywords": ["same", "alike"], "examples": ["Same thing."]}
    )
    responses = _all_at_once(lambda _i: client.post(f"/v1/{resource}", json=body))
    _no_constraint_conflicts(responses)
    assert sorted(r.status_code for r in responses) == [200] * (WRITERS - 1) + [201], [
        r.text for r in responses
    ]
    assert len({r.text for r in responses}) == 1, "every answer shows the one stored row"
    model = Actor if resource == "actors" else Topic
    with sessions() as session:
        assert session.scalar(select(func.count()).where(model.slug == slug)) == 1


@pytest.mark.parametrize("resource", ["actors", "topics"])
def test_different_creations_of_one_slug_conflict_on_the_slug(live: Live, resource: str) -> None:
    client, _ = live
    slug = _slug(resource)
    extra = {"kind": "group"} if resource == "actors" else {}
    responses = _all_at_once(
        lambda i: client.post(f"/v1/{resource}", json={"slug": slug, "name": f"Name {i}", **extra})
    )
    _no_constraint_conflicts(responses)
    assert sorted(r.status_code for r in responses) == [201] + [409] * (WRITERS - 1)
    codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert codes == {f"{resource[:-1]}_exists"}
    [winner] = [r.json() for r in responses if r.status_code == 201]
    winner.pop("reextraction")  # a write's answer names the re-extraction it started, a read's does not
    assert client.get(f"/v1/{resource}/{slug}").json() == winner


def test_overlapping_registry_imports_all_succeed(live: Live) -> None:
    client, sessions = live
    run = next(_names)
    hub = {"slug": f"import-{run}-hub", "name": "Hub", "kind": "bloc"}
    actors = [hub] + [
        {
            "slug": f"import-{run}-actor-{k}",
            "name": f"Actor {k}",
            "kind": "state",
            "aliases": [f"Actor {k}", f"A{k}"],
            "memberships": [{"parent": hub["slug"], "role": "member"}],
        }
        for k in range(9)
    ]
    topics = [
        {
            "slug": f"import-{run}-topic-{k}",
            "name": f"Topic {k}",
            "keywords": [f"keyword {k}"],
            "parent": f"import-{run}-topic-0" if k else None,
        }
        for k in range(6)
    ]

    def files(i: int) -> dict[str, Any]:
        # overlapping files, each whole: the hub and topic 0 (what the others name) in all of them
        return {
            "actors": [hub, *(actors[1 + (i + d) % 9] for d in range(4))],
            "topics": [topics[0], topics[1 + i % 5], topics[1 + (i + 2) % 5]],
        }

    count = 12
    responses = _all_at_once(lambda i: client.post("/v1/registry", json=files(i)), count)
    assert [r.status_code for r in responses] == [200] * count, [r.text for r in responses]
    results = [r.json() for r in responses]
    # each slug created exactly once; every import of it after that found it unchanged
    assert sum(r["actors"]["created"] for r in results) == len(actors)
    assert sum(r["topics"]["created"] for r in results) == len(topics)
    assert all(r[kind]["updated"] == 0 for r in results for kind in ("actors", "topics"))
    for actor in actors[1:]:
        stored = client.get(f"/v1/actors/{actor['slug']}").json()
        assert (stored["aliases"], stored["memberships"][0]["parent"]) == (actor["aliases"], hub["slug"])
    with sessions() as session:
        ids = select(Actor.id).where(Actor.slug.in_([a["slug"] for a in actors]))
        assert session.scalar(select(func.count()).where(ActorAlias.actor_id.in_(ids))) == 18
        assert session.scalar(select(func.count()).where(ActorMembership.actor_id.in_(ids))) == 9


def test_parallel_revisions_of_one_url_each_make_a_revision(live: Live) -> None:
    client, sessions = live
    first = article_payload()
    created = client.post("/v1/articles", json=first)
    assert created.status_code == 201, created.text
    article_id = created.json()["article_id"]

    def revision(i: int) -> dict[str, Any]:
        return {**first, "text": f"{first['text']} Revision {i} of the story."}

    responses = _all_at_once(lambda i: client.post("/v1/articles", json=revision(i)))
    assert [r.status_code for r in responses] == [200] * WRITERS, [r.text for r in responses]
    assert {r.json()["status"] for r in responses} == {"revised"}
    assert {r.json()["article_id"] for r in responses} == {article_id}
    assert sorted(r.json()["revision"] for r in responses) == list(range(2, WRITERS + 2))
    last = max(range(WRITERS), key=lambda i: int(responses[i].json()["revision"]))
    with sessions() as session:
        article = session.scalars(select(Article).where(Article.url == first["url"])).one()
        revisions = session.scalar(select(func.count()).where(ArticleRevision.article_id == article_id))
        observations = session.scalar(select(func.count()).where(Observation.article_id == article_id))
    assert (article.revision, article.text) == (WRITERS + 1, revision(last)["text"])
    assert revisions == WRITERS + 1
    assert observations == responses[last].json()["observations"] > 0


def test_parallel_posts_of_a_new_url_with_different_texts_are_one_article(live: Live) -> None:
    client, sessions = live
    first = article_payload()

    def version(i: int) -> dict[str, Any]:
        return {**first, "text": f"{first['text']} Version {i} of the story."}

    responses = _all_at_once(lambda i: client.post("/v1/articles", json=version(i)))
    assert sorted(r.status_code for r in responses) == [200] * (WRITERS - 1) + [201], [
        r.text for r in responses
    ]
    assert sorted(r.json()["status"] for r in responses) == ["created"] + ["revised"] * (WRITERS - 1)
    assert sorted(r.json()["revision"] for r in responses) == list(range(1, WRITERS + 1))
    with sessions() as session:
        stored = session.scalars(select(Article).where(Article.url == first["url"])).all()
    assert [a.revision for a in stored] == [WRITERS]
