"""Registry writes apply to what is already stored: creating or changing a topic or an actor starts
a background re-extraction of the stored articles the change can affect (in-process runner here),
unless the request says `reextract=false`.

Each test has a database of its own whose requests commit, as the job runs in another thread with
its own connections. The registry and the articles (tests/harwick.py) were written for these tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from app.models import JobItem
from app.ops import migrate
from tests.conftest import ENGINES, create_database
from tests.factories import admin_headers
from tests.harwick import ACTORS, ARTICLES, EXPECTED, TOPIC

DEADLINE_SECONDS = 60


@dataclass(frozen=True)
class Live:
    client: TestClient
    factory: sessionmaker[Session]


@pytest.fixture(params=ENGINES)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """The API on a fresh database with an empty registry, its jobs run by its in-process runner."""
    url, drop = create_database(request.param, tmp_path)
    migrate.upgrade(url)
    settings = Settings(database_url=url, migrate_on_start=False, shift_detection="sync", log_level="WARNING")
    engine = make_engine(settings)
    try:
        with TestClient(create_app(settings), headers=admin_headers(url)) as client:
            yield Live(client, make_sessionmaker(engine))
    finally:
        engine.dispose()
        drop()


def _wait_for_end(client: TestClient, status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(status_url).json()
        if body["state"] in ("succeeded", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job did not finish in {DEADLINE_SECONDS}s: {body}")


def _job_articles(live: Live, job_id: int) -> set[int]:
    with session_scope(live.factory, write=False) as session:
        return set(session.scalars(select(JobItem.article_id).where(JobItem.job_id == job_id)))


def _found(client: TestClient) -> dict[int, set[tuple[str, str]]]:
    """(actor, label) of the stored observations, by article id."""
    items = client.get("/v1/stances", params={"limit": 1000}).json()["items"]
    found: dict[int, set[tuple[str, str]]] = {}
    for item in items:
        found.setdefault(item["article_id"], set()).add((item["actor"], item["label"]))
    return found


def _ingest_all(client: TestClient) -> dict[str, int]:
    response = client.post("/v1/articles/batch", json={"articles": ARTICLES})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] * len(ARTICLES)
    return {article["url"]: result["article_id"] for article, result in zip(ARTICLES, results, strict=True)}


def test_a_topic_defined_after_its_articles_applies_to_them(live: Live) -> None:
    client = live.client
    batch = client.post("/v1/articles/batch", json={"articles": ARTICLES})
    assert [w["code"] for w in batch.json()["warnings"]] == ["empty_registry"]
    ids = {a["url"]: r["article_id"] for a, r in zip(ARTICLES, batch.json()["results"], strict=True)}
    assert all(r["observations"] == 0 for r in batch.json()["results"])

    for actor in ACTORS:  # asked for no re-extraction: none starts
        created = client.post("/v1/actors", params={"reextract": "false"}, json=actor)
        assert created.status_code == 201, created.text
        assert created.json()["reextraction"] is None
    assert client.get("/v1/jobs").json()["items"] == []

    created = client.post("/v1/topics", json=TOPIC)
    assert created.status_code == 201, created.text
    body = created.json()
    started = body.pop("reextraction")
    assert body == client.get(f"/v1/topics/{TOPIC['slug']}").json(), "the topic as GET shows it"
    assert "reextraction" not in client.get(f"/v1/topics/{TOPIC['slug']}").json()
    related = {ids[url] for url, expected in EXPECTED.items() if expected}
    assert started == {
        "job_id": started["job_id"],
        "articles": len(related),
        "status_url": f"/v1/jobs/{started['job_id']}",
    }
    job = _wait_for_end(client, started["status_url"])
    assert (job["state"], job["done"], job["total"]) == ("succeeded", len(related), len(related))
    assert job["params"]["reason"] == f"topic {TOPIC['slug']} created"
    assert _job_articles(live, started["job_id"]) == related, "the library article holds no topic word"

    found = _found(client)
    for url, expected in EXPECTED.items():
        assert found.get(ids[url], set()) == expected, url

    # the registry has topics and actors now: no warning; the job's articles are current
    again = client.post("/v1/articles", json=ARTICLES[0])
    assert (again.status_code, again.json()["status"], again.json()["warnings"]) == (200, "unchanged", [])
    # the same topic again changes nothing and starts nothing
    repeated = client.post("/v1/topics", json=TOPIC)
    assert (repeated.status_code, repeated.json()["reextraction"]) == (200, None)


def test_reviewed_observations_survive_the_reextraction_a_change_starts(live: Live) -> None:
    client = live.client
    imported = client.post(
        "/v1/registry", params={"reextract": "false"}, json={"actors": ACTORS, "topics": [TOPIC]}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["reextraction"] is None
    ids = _ingest_all(client)
    first = ids[ARTICLES[0]["url"]]
    items = client.get("/v1/stances", params={"article": first}).json()["items"]
    by_actor = {item["actor"]: item for item in items}
    verified, rejected = by_actor["tessa-lund"], by_actor["dock-street-traders"]
    for item, change in ((verified, {"status": "verified"}), (rejected, {"status": "rejected"})):
        response = client.patch(f"/v1/stances/{item['id']}", json=change)
        assert response.status_code == 200, response.text
    second = ids[ARTICLES[1]["url"]]
    second_before = client.get("/v1/stances", params={"article": second}).json()["items"]

    changed = client.patch(
        f"/v1/topics/{TOPIC['slug']}", json={"keywords": [*TOPIC["keywords"], "cycle path"]}
    )
    assert changed.status_code == 200, changed.text
    started = changed.json()["reextraction"]
    assert started is not None
    assert started["articles"] == 2
    assert _wait_for_end(client, started["status_url"])["state"] == "succeeded"

    after = client.get("/v1/stances", params={"article": first}).json()["items"]
    kept = {o["id"]: (o["actor"], o["status"], o["score"]) for o in after}
    assert kept[verified["id"]] == ("tessa-lund", "verified", verified["score"])
    assert kept[rejected["id"]] == ("dock-street-traders", "rejected", rejected["score"])
    assert len(after) == 2, "no automatic twin next to a reviewed observation"
    # unreviewed ones are extracted again (SQLite may give the new rows the ids of the old ones)
    second_after = client.get("/v1/stances", params={"article": second}).json()["items"]
    assert len(second_after) == len(second_before) == 2
    assert min(o["created_at"] for o in second_after) > max(o["created_at"] for o in second_before)

    # an actor's new alias reaches the articles naming it (the library article too), not the others
    patched = client.patch(
        "/v1/actors/tessa-lund", json={"aliases": ["Mayor Tessa Lund", "Tessa Lund", "Lund", "the mayor"]}
    )
    assert patched.status_code == 200, patched.text
    started = patched.json()["reextraction"]
    assert started is not None
    assert _wait_for_end(client, started["status_url"])["state"] == "succeeded"
    assert _job_articles(live, started["job_id"]) == {first, ids[ARTICLES[2]["url"]]}
    # a change extraction does not read (an actor's description) starts nothing
    described = client.patch("/v1/actors/tessa-lund", json={"description": "Mayor of Harwick since 2022"})
    assert described.json()["reextraction"] is None


def test_a_registry_import_reaches_the_union_and_an_empty_store_starts_nothing(live: Live) -> None:
    client = live.client
    empty = client.post("/v1/registry", json={"actors": ACTORS[:1], "topics": []})
    assert empty.status_code == 200, empty.text
    assert empty.json()["reextraction"] is None, "no stored article: no job"
    ids = _ingest_all(client)

    imported = client.post("/v1/registry", json={"actors": ACTORS, "topics": [TOPIC]})
    started = imported.json()["reextraction"]
    assert started is not None
    assert started["articles"] == 3, "the topic's two articles, and the library one naming the mayor"
    assert _wait_for_end(client, started["status_url"])["state"] == "succeeded"
    found = _found(client)
    for url, expected in EXPECTED.items():
        assert found.get(ids[url], set()) == expected, url
    again = client.post("/v1/registry", json={"actors": ACTORS, "topics": [TOPIC]})
    assert again.json()["reextraction"] is None, "nothing changed"
