"""Stale extractions re-extract on re-ingest, and an ingest into an empty registry says so.

An article records the registry revision and the extractor version it was extracted with; the same
text posted again over an older stamp is extracted again in place (`reextracted`), keeping manual
and reviewed observations; once current it is `unchanged`. The registry and articles are the ones
written for these tests (tests/harwick.py).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import Article
from tests.harwick import ACTORS, ARTICLES, EXPECTED, TOPIC

EMPTY_TOPICS = (
    "no topics are defined: articles are stored but nothing can be extracted; define topics "
    "(POST /v1/topics or stanceline registry load) and they will be applied to stored articles"
)


def _load(client: TestClient, *, actors: list[dict[str, Any]], topics: list[dict[str, Any]]) -> None:
    response = client.post(
        "/v1/registry", params={"reextract": "false"}, json={"actors": actors, "topics": topics}
    )
    assert response.status_code == 200, response.text
    assert response.json()["reextraction"] is None


def _post(client: TestClient, article: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/articles", json=article)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _stances(client: TestClient, article_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/stances", params={"article": article_id}).json()["items"]
    return items


def test_reingest_after_a_registry_change_reextracts_once(client: TestClient) -> None:
    _load(client, actors=ACTORS, topics=[])
    article = ARTICLES[0]
    first = _post(client, article)
    assert (first["status"], first["observations"]) == ("created", 0)
    assert _post(client, article)["status"] == "unchanged"
    _load(client, actors=ACTORS, topics=[TOPIC])  # no job: the re-ingest catches up
    again = _post(client, article)
    assert (again["status"], again["article_id"], again["revision"]) == (
        "reextracted",
        first["article_id"],
        1,
    )
    found = {
        (o["actor"], o["label"]) for o in _stances(client, first["article_id"]) if o["method"] != "manual"
    }
    assert found == EXPECTED[article["url"]]
    assert again["observations"] == len(found)
    third = _post(client, article)
    assert (third["status"], third["observations"]) == ("unchanged", len(found))
    # a write that changes nothing moves no revision, starts nothing and stales nothing
    same = client.patch(f"/v1/topics/{TOPIC['slug']}", json={"keywords": TOPIC["keywords"]})
    assert (same.status_code, same.json()["reextraction"]) == (200, None)
    assert _post(client, article)["status"] == "unchanged"


def test_reviewed_and_manual_observations_survive_a_reextracting_reingest(
    client: TestClient, session: Session
) -> None:
    _load(client, actors=ACTORS, topics=[TOPIC])
    created = _post(client, ARTICLES[0])
    article_id = created["article_id"]
    by_actor = {o["actor"]: o for o in _stances(client, article_id)}
    reviewed = by_actor["tessa-lund"]
    assert client.patch(f"/v1/stances/{reviewed['id']}", json={"status": "rejected"}).status_code == 200
    manual = client.post(
        "/v1/stances",
        json={
            "actor": "harwick-council",
            "topic": TOPIC["slug"],
            "article_id": article_id,
            "score": -0.5,
            "label": "oppose",
            "observed_at": "2025-05-05T00:00:00Z",
        },
    )
    assert manual.status_code == 201, manual.text
    # as if extracted by another version of the extractor
    session.execute(
        update(Article).where(Article.id == article_id).values(extractor_version="pipeline-0.1.0")
    )
    session.commit()

    again = client.post("/v1/articles/batch", json={"articles": [ARTICLES[0], ARTICLES[1]]}).json()
    assert [r["status"] for r in again["results"]] == ["reextracted", "created"]
    assert again["warnings"] == []
    after = {o["id"]: o for o in _stances(client, article_id)}
    assert after[reviewed["id"]]["status"] == "rejected", "the review stays"
    assert after[manual.json()["id"]]["method"] == "manual"
    lund = [o for o in after.values() if o["actor"] == "tessa-lund"]
    assert len(lund) == 1, "no automatic twin next to the rejection"
    assert _post(client, ARTICLES[0])["status"] == "unchanged"


def test_articles_stored_before_the_stamp_reextract_only_without_automatic_observations(
    client: TestClient, session: Session
) -> None:
    _load(client, actors=ACTORS, topics=[TOPIC])
    coded = _post(client, ARTICLES[0])
    uncoded = _post(client, ARTICLES[2])
    assert coded["observations"] > 0
    assert uncoded["observations"] == 0
    ids = [coded["article_id"], uncoded["article_id"]]
    session.execute(
        update(Article)
        .where(Article.id.in_(ids))
        .values(extracted_registry_revision=None, extractor_version=None)
    )
    session.commit()
    assert _post(client, ARTICLES[0])["status"] == "unchanged", (
        "taken as current: it has automatic observations"
    )
    assert _post(client, ARTICLES[2])["status"] == "reextracted", "most likely stored before any registry"
    assert _post(client, ARTICLES[2])["status"] == "unchanged"


def test_an_empty_registry_is_reported_until_topics_and_actors_exist(client: TestClient) -> None:
    first = _post(client, ARTICLES[0])
    assert first["status"] == "created"
    [warning] = first["warnings"]
    assert warning["code"] == "empty_registry"
    assert warning["message"].startswith("no topics and no actors are defined: articles are stored")

    _load(client, actors=ACTORS, topics=[])
    single = _post(client, ARTICLES[1])
    assert single["warnings"] == [{"code": "empty_registry", "message": EMPTY_TOPICS}]
    batch = client.post("/v1/articles/batch", json={"articles": [ARTICLES[2]]}).json()
    assert batch["warnings"] == [{"code": "empty_registry", "message": EMPTY_TOPICS}]
    assert batch["results"][0]["warnings"] == [], "on the batch, not on its items"

    _load(client, actors=ACTORS, topics=[TOPIC])
    later = _post(client, {**ARTICLES[0], "url": "https://harwick.example/news/4"})
    assert (later["warnings"], later["observations"]) == ([], 2)
