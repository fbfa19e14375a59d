"""SQL-injection and script payloads are stored as text and come back as the same text."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("starter_registry")

PAYLOADS = [
    "'; DROP TABLE article; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM observation WHERE ('1'='1",
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss=1">',
    "{{7*7}} ${7*7} %s %n",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_every_text_field_are_stored_as_text(client: TestClient, payload: str) -> None:
    article = {
        "url": f"https://example.org/x?q={payload}",
        "external_id": payload,
        "title": payload,
        "source": payload,
        "published_at": "2025-03-26T08:00:00Z",
        "text": f"Russia said it would never accept Western troops in Ukraine. {payload}",
    }
    created = client.post("/v1/articles", json=article)
    assert created.status_code == 201, created.text
    detail = client.get(f"/v1/articles/{created.json()['article_id']}").json()
    for field in ("url", "external_id", "title", "source", "text"):
        assert detail[field] == article[field]
    assert detail["observations"], "the payload does not stop extraction"

    manual = {
        "actor": "france",
        "topic": "ground-troops-ukraine",
        "score": 0.5,
        "observed_at": "2025-03-03",
        "evidence": payload,
        "speaker": payload,
        "note": payload,
    }
    coded = client.post("/v1/stances", json=manual)
    assert coded.status_code == 201, coded.text
    stored = client.get(f"/v1/stances/{coded.json()['id']}").json()
    assert (stored["evidence"], stored["speaker"], stored["note"]) == (payload, payload, payload)
    reviewed = client.patch(f"/v1/stances/{coded.json()['id']}", json={"note": payload, "status": "verified"})
    assert reviewed.json()["note"] == payload

    # as query values they are values: no match, an unknown slug, never a 500
    assert client.get("/v1/articles", params={"source": payload}).json()["items"][0]["title"] == payload
    assert client.get("/v1/stances", params={"actor": payload}).status_code == 422
    assert client.get("/v1/timelines", params={"topic": payload}).status_code == 422
    # and the tables they name are still there
    assert len(client.get("/v1/articles").json()["items"]) == 1
    response = client.get("/v1/stances", params={"topic": "ground-troops-ukraine"})
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.json()["items"]) >= 2
