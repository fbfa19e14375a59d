from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import article_payload

pytestmark = pytest.mark.usefixtures("starter_registry")

TEXT = (
    "Russia has repeatedly said it would never accept foreign troops in Ukraine. "
    "Britain has trained thousands of Ukrainian recruits and said it would keep training them."
)


def test_agreement_pairs_manual_with_automatic_coding(client: TestClient) -> None:
    article_id = client.post("/v1/articles", json=article_payload(text=TEXT)).json()["article_id"]
    automatic = client.get("/v1/stances", params={"article": article_id}).json()["items"]
    by_key = {(o["actor"], o["topic"]): o for o in automatic}
    russia = by_key[("russia", "ground-troops-ukraine")]
    assert russia["label"] == "oppose"

    def code(actor: str, topic: str, score: float) -> None:
        body = {
            "actor": actor,
            "topic": topic,
            "score": score,
            "observed_at": russia["observed_at"],
            "article_id": article_id,
        }
        assert client.post("/v1/stances", json=body).status_code == 201

    code("russia", "ground-troops-ukraine", -1.0)  # agrees
    code("france", "ground-troops-ukraine", 1.0)  # the extractor coded nothing: "none"
    body = client.get("/v1/agreement").json()
    assert body["overall"]["n"] == 2
    assert body["overall"]["observed"] == 0.5
    assert body["by_topic"]["ground-troops-ukraine"]["n"] == 2
    assert client.get("/v1/agreement", params={"topic": "ceasefire-monitoring"}).json()["overall"]["n"] == 0
    assert client.get("/v1/agreement", params={"topic": "nothing"}).json()["error"]["field"] == "topic"
