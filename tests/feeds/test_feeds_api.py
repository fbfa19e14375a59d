"""POST/GET/DELETE /v1/feeds, and a syndicated copy's story in GET /v1/articles/{id}."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import auth
from app.config import Settings
from tests.feeds.conftest import demo_articles, unique

pytestmark = pytest.mark.usefixtures("starter_registry")


def _bearer(session: Session, scope: str) -> dict[str, str]:
    _, plain = auth.create_key(session, name=f"{scope} feeds", scopes=[scope])
    session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_register_list_update_and_delete_a_feed(client: TestClient) -> None:
    url = unique("https://news.example") + "/rss.xml"
    created = client.post(
        "/v1/feeds", json={"url": url, "topic_hints": ["ground-troops-ukraine"], "poll_interval_seconds": 600}
    )
    assert created.status_code == 201, created.text
    feed = created.json()
    assert (feed["url"], feed["topic_hints"], feed["poll_interval_seconds"]) == (
        url,
        ["ground-troops-ukraine"],
        600,
    )
    assert (feed["failures"], feed["etag"], feed["last_polled_at"]) == (0, None, None)

    again = client.post("/v1/feeds", json={"url": url, "poll_interval_seconds": 3600})
    assert again.status_code == 200
    assert again.json()["id"] == feed["id"]
    assert again.json()["topic_hints"] == []

    listed = client.get("/v1/feeds", params={"limit": 1000}).json()["items"]
    assert [f["url"] for f in listed].count(url) == 1
    assert client.get(f"/v1/feeds/{feed['id']}").json()["poll_interval_seconds"] == 3600

    assert client.delete(f"/v1/feeds/{feed['id']}").json() == {"feed_id": feed["id"]}
    missing = client.get(f"/v1/feeds/{feed['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "feed_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://news.example/rss.xml"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://news.example/rss.xml", "poll_interval_seconds": 5}, "poll_interval_seconds"),
        ({"url": "https://news.example/rss.xml", "topic_hints": ["Not A Slug"]}, "topic_hints"),
    ],
)
def test_bad_feeds_are_refused_with_the_field(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post("/v1/feeds", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"].startswith(field)


def test_unknown_topic_hint_is_named(client: TestClient) -> None:
    response = client.post("/v1/feeds", json={"url": unique() + "/rss.xml", "topic_hints": ["no-such-topic"]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_topic"
    assert response.json()["error"]["field"] == "topic_hints[0]"


def test_writers_add_feeds_and_only_admins_delete_them(
    anonymous_client: TestClient, session: Session
) -> None:
    reader, writer = _bearer(session, "read"), _bearer(session, "write")
    url = unique() + "/rss.xml"
    assert anonymous_client.post("/v1/feeds", json={"url": url}, headers=reader).status_code == 403
    created = anonymous_client.post("/v1/feeds", json={"url": url}, headers=writer)
    assert created.status_code == 201
    assert anonymous_client.get("/v1/feeds", headers=reader).status_code == 200
    assert anonymous_client.delete(f"/v1/feeds/{created.json()['id']}", headers=writer).status_code == 403


def test_articles_show_their_story(app: FastAPI, settings: Settings, client: TestClient) -> None:
    app.state.settings = settings.model_copy(update={"story_linking": "all"})
    story = demo_articles()[10]
    first = client.post("/v1/articles", json={**story, "url": unique()}).json()
    copy = client.post("/v1/articles", json={**story, "url": unique()}).json()
    assert copy["observations"] == 0
    assert client.get(f"/v1/articles/{copy['article_id']}").json()["story_id"] == first["article_id"]
    assert client.get(f"/v1/articles/{first['article_id']}").json()["story_id"] is None
