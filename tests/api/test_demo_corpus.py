"""The demo corpus through the HTTP API: what a new user sees first."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cli.main import DEMO_CORPUS

pytestmark = pytest.mark.usefixtures("starter_registry")


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()]


def test_corpus_ingests_once_and_shows_europe_stepping_back(client: TestClient) -> None:
    articles = _corpus()
    first = client.post("/v1/articles/batch", json={"articles": articles}).json()["results"]
    assert [r["status"] for r in first] == ["created"] * len(articles)
    again = client.post("/v1/articles/batch", json={"articles": articles}).json()["results"]
    assert [r["status"] for r in again] == ["unchanged"] * len(articles)
    assert sum(r["observations"] for r in first) == sum(r["observations"] for r in again) > 0

    timeline = client.get(
        "/v1/timelines", params={"topic": "ground-troops-ukraine", "actor": "europe", "interval": "month"}
    ).json()
    assert [p["bucket"][:7] for p in timeline["series"][0]["points"]][:2] == ["2025-02", "2025-03"]

    late_march = client.get(
        "/v1/stances", params={"actor": "europe", "topic": "ground-troops-ukraine", "from": "2025-03-20"}
    ).json()["items"]
    step_back = [o for o in late_march if o["shift"]]
    assert step_back, "the late-March step back should be marked as a shift"
    assert step_back[0]["score"] < 0
    assert "shifting away from plans to send troops" in step_back[0]["evidence"]


def test_distractor_articles_yield_no_observations(client: TestClient) -> None:
    distractors = [a for a in _corpus() if not a["gold"]]
    assert distractors
    results = client.post("/v1/articles/batch", json={"articles": distractors}).json()["results"]
    assert [r["observations"] for r in results] == [0] * len(distractors)


def test_russia_holds_steady_no_shift(client: TestClient) -> None:
    client.post("/v1/articles/batch", json={"articles": _corpus()})
    russia = client.get("/v1/shifts", params={"topic": "ground-troops-ukraine", "actor": "russia"}).json()
    assert russia["items"] == []
    levels = client.get(
        "/v1/timelines",
        params={"topic": "ground-troops-ukraine", "actor": "russia", "rollup": "true", "interval": "month"},
    ).json()["series"][0]["points"]
    observed = [p for p in levels if p["count"]]
    assert observed
    assert all(p["score"] <= -0.9 for p in observed)


def test_europe_rolled_up_steps_back_in_late_march(client: TestClient) -> None:
    client.post("/v1/articles/batch", json={"articles": _corpus()})
    shifts = client.get("/v1/shifts", params={"topic": "ground-troops-ukraine", "actor": "europe"}).json()[
        "items"
    ]
    toward_oppose = [s for s in shifts if s["direction"] == "toward_oppose"]
    assert toward_oppose, "europe's late-March step back is a shift"
    shift = toward_oppose[0]
    assert abs(date.fromisoformat(shift["at"][:10]) - date(2025, 3, 26)) <= timedelta(days=10)
    shown = shift["evidence_after"] + shift["cues"]
    sentences = [e["evidence"] for e in shown] + [s["evidence"] for e in shown for s in e["supporting"]]
    assert any("shifting away from plans to send troops" in text for text in sentences)
    # the seed article's quote names no one: "They" is the European leaders of its lead
    assert any("taking a step back from ground troops" in text for text in sentences)


def test_observations_keep_the_other_sentences_of_the_same_claim(client: TestClient) -> None:
    text = (
        "Russia said on Monday it would never accept foreign troops in Ukraine. "
        "Moscow rejected any deployment of NATO soldiers to Ukraine, the foreign ministry said."
    )
    payload = {
        "url": "https://example.org/two-sentences",
        "published_at": "2025-03-26T08:00:00Z",
        "text": text,
    }
    article_id = client.post("/v1/articles", json=payload).json()["article_id"]
    [russia] = [
        o for o in client.get(f"/v1/articles/{article_id}").json()["observations"] if o["actor"] == "russia"
    ]
    [other] = russia["supporting"]
    assert text[other["start"] : other["end"]] == other["evidence"]
    assert other["evidence"] != russia["evidence"]
