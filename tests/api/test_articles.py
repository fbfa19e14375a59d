from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Article, ArticleRevision, Observation
from tests.factories import article_payload
from tests.pages import all_pages

pytestmark = pytest.mark.usefixtures("starter_registry")


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Article)) or 0,
        session.scalar(select(func.count()).select_from(ArticleRevision)) or 0,
        session.scalar(select(func.count()).select_from(Observation)) or 0,
    )


def _post(client: TestClient, payload: dict[str, Any]) -> Any:
    return client.post(client.app.url_path_for("create_article"), json=payload)  # type: ignore[attr-defined]


def test_post_article_extracts_observations_with_exact_evidence(client: TestClient) -> None:
    payload = article_payload()
    response = _post(client, payload)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "created"
    assert body["observations"] >= 1

    detail = client.get(f"/v1/articles/{body['article_id']}").json()
    assert detail["text"] == payload["text"]
    assert detail["source"] == "Test Wire"
    assert len(detail["observations"]) == body["observations"]
    for observation in detail["observations"]:
        start, end = observation["evidence_start"], observation["evidence_end"]
        assert detail["text"][start:end] == observation["evidence"]
        assert observation["method"] == "rules"
        assert observation["status"] == "auto"
        assert observation["reported_at"] == "2025-03-26T08:00:00Z"
        assert -1 <= observation["score"] <= 1


def test_reposting_the_same_article_changes_nothing(client: TestClient, session: Session) -> None:
    payload = article_payload()
    first = _post(client, payload).json()
    before = _counts(session)
    again = _post(client, payload)
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged"
    assert again.json()["article_id"] == first["article_id"]
    assert _counts(session) == before


def test_new_text_is_a_revision_replacing_automatic_but_keeping_manual(client: TestClient) -> None:
    payload = article_payload()
    article_id = _post(client, payload).json()["article_id"]
    manual = client.post(
        "/v1/stances",
        json={
            "actor": "france",
            "topic": "ceasefire-monitoring",
            "score": 0.5,
            "observed_at": "2025-03-25",
            "article_id": article_id,
            "evidence": "coded by hand",
        },
    )
    assert manual.status_code == 201, manual.text

    revised_text = "Russia has repeatedly said it would never accept foreign troops in Ukraine."
    response = _post(client, {**payload, "text": revised_text})
    assert response.status_code == 200
    assert response.json()["status"] == "revised"
    assert response.json()["revision"] == 2

    detail = client.get(f"/v1/articles/{article_id}").json()
    assert detail["revision"] == 2
    automatic = [o for o in detail["observations"] if o["method"] != "manual"]
    assert automatic, "the revised text should be extracted again"
    assert all(o["article_revision"] == 2 for o in automatic)
    assert all(revised_text[o["evidence_start"] : o["evidence_end"]] == o["evidence"] for o in automatic)
    assert [o["evidence"] for o in detail["observations"] if o["method"] == "manual"] == ["coded by hand"]
    assert "russia" in {o["actor"] for o in automatic}


def test_batch_answers_in_input_order_and_a_bad_item_does_not_sink_the_others(
    client: TestClient, session: Session
) -> None:
    good = article_payload()
    missing_text = {k: v for k, v in article_payload().items() if k != "text"}
    naive_date = article_payload(published_at="2025-03-26T08:00:00")
    response = client.post("/v1/articles/batch", json={"articles": [good, missing_text, good, naive_date, 7]})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "unchanged", "error", "error"]
    assert results[1]["error"]["field"] == "articles[1].text"
    assert results[3]["error"]["field"] == "articles[3].published_at"
    assert results[4]["error"]["field"].startswith("articles[4]")
    assert results[0]["article_id"] == results[2]["article_id"]
    assert _counts(session)[0] == 1


def test_batch_over_the_limit_is_refused_naming_the_field(client: TestClient, session: Session) -> None:
    response = client.post("/v1/articles/batch", json={"articles": [article_payload()] * 1001})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "articles"
    assert _counts(session)[0] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"published_at": "2025-03-26T08:00:00"}, "published_at"),
        ({"published_at": "26/03/2025"}, "published_at"),
        ({"published_at": "10000-01-01T00:00:00Z"}, "published_at"),
        ({"url": None}, "url"),
    ],
)
def test_bad_article_gets_422_naming_the_field(
    client: TestClient, session: Session, change: dict[str, Any], field: str
) -> None:
    response = _post(client, {**article_payload(), **change})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert _counts(session)[0] == 0


def test_malformed_json_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post("/v1/articles", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_external_id_identifies_an_article_too(client: TestClient) -> None:
    payload = article_payload(url=None, external_id="wire-123")
    assert _post(client, payload).json()["status"] == "created"
    assert _post(client, payload).json()["status"] == "unchanged"


def test_list_articles_pages_with_a_cursor(client: TestClient) -> None:
    for day in range(1, 6):
        _post(client, article_payload(published_at=f"2025-03-0{day}T12:00:00Z"))
    items, pages = all_pages(client, "/v1/articles", limit=2)
    seen = [item["id"] for item in items]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    dated = client.get("/v1/articles", params={"from": "2025-03-03", "to": "2025-03-05"}).json()["items"]
    assert [a["published_at"][:10] for a in dated] == ["2025-03-03", "2025-03-04"]


def test_unknown_article_is_a_404_with_the_error_body(client: TestClient) -> None:
    response = client.get("/v1/articles/999999")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "article_not_found",
        "message": "article 999999 does not exist",
        "field": "article",
    }


def test_bad_cursor_is_a_422(client: TestClient) -> None:
    response = client.get("/v1/articles", params={"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


def test_registry_changes_reach_the_next_ingest(client: TestClient) -> None:
    text = "Ruritania has categorically rejected sending troops to Ukraine, its foreign ministry said."
    before = _post(client, article_payload(text=text)).json()
    assert before["observations"] == 0
    created = client.post("/v1/actors", json={"slug": "ruritania", "name": "Ruritania", "kind": "state"})
    assert created.status_code == 201
    client.patch("/v1/actors/ruritania", json={"aliases": ["Ruritania"]})
    after = _post(client, article_payload(text=text)).json()
    detail = client.get(f"/v1/articles/{after['article_id']}").json()
    assert [o["actor"] for o in detail["observations"]] == ["ruritania"]
    assert detail["observations"][0]["label"] == "oppose"


@pytest.mark.parametrize(("escape", "field"), [("\\u0000", "text"), ("\\ud800", "text")])
def test_nul_and_lone_surrogates_are_refused_on_every_engine(
    client: TestClient, session: Session, escape: str, field: str
) -> None:
    body = f'{{"url": "https://example.org/u", "published_at": "2025-01-01T00:00:00Z", "text": "a{escape}b"}}'
    response = client.post(
        "/v1/articles", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert _counts(session)[0] == 0


def test_unicode_of_every_kind_comes_back_exactly(client: TestClient) -> None:
    text = "Troops \u05e9\u05dc\u05d5\u05dd \U0001f1fa\U0001f1e6 caf\u00e9 \u200f\u202e in Ukraine\n\ttabs"
    article_id = _post(client, article_payload(text=text, title="\U0001f600 title")).json()["article_id"]
    detail = client.get(f"/v1/articles/{article_id}").json()
    assert (detail["text"], detail["title"]) == (text, "\U0001f600 title")
