"""The dashboard's own reads (/web) and its page, through the API client on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cli.main import DEMO_CORPUS

pytestmark = pytest.mark.usefixtures("starter_registry")

TOPIC = "ground-troops-ukraine"
WEEK = ("2025-03-24T00:00:00Z", "2025-03-31T00:00:00Z")


def _load_demo(client: TestClient) -> None:
    articles = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()]
    client.post("/v1/articles/batch", json={"articles": articles}).raise_for_status()


def _point(client: TestClient, actor: str, *, rollup: bool) -> dict[str, Any]:
    timeline = client.get(
        "/v1/timelines", params={"topic": TOPIC, "actor": actor, "interval": "week", "rollup": rollup}
    ).json()
    [point] = [p for p in timeline["series"][0]["points"] if p["bucket"] == WEEK[0]]
    return point


def _evidence(client: TestClient, actor: str, *, rollup: bool) -> dict[str, Any]:
    response = client.get(
        "/web/evidence",
        params={"topic": TOPIC, "actor": actor, "from": WEEK[0], "to": WEEK[1], "rollup": rollup},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_rolled_up_point_lists_what_it_counts_with_its_weights(client: TestClient) -> None:
    _load_demo(client)
    point = _point(client, "europe", rollup=True)
    evidence = _evidence(client, "europe", rollup=True)

    assert evidence["total"] == len(evidence["items"]) == point["count"] > 1
    assert sum(i["weight"] for i in evidence["items"]) == pytest.approx(point["weight"], abs=1e-4)
    by_actor = {i["observation"]["actor"] for i in evidence["items"]}
    assert by_actor - {"europe"}, "members' observations count for a rolled-up bloc"
    for item in evidence["items"]:
        observation = item["observation"]
        own = observation["actor"] == "europe"
        assert item["weight"] <= observation["confidence"] + 1e-9
        assert own == (item["weight"] == pytest.approx(observation["confidence"]))


def test_without_roll_up_a_point_lists_only_the_actors_own(client: TestClient) -> None:
    _load_demo(client)
    evidence = _evidence(client, "europe", rollup=False)
    assert evidence["total"] == _point(client, "europe", rollup=False)["count"]
    assert {i["observation"]["actor"] for i in evidence["items"]} == {"europe"}


def test_a_rejected_observation_leaves_the_point(client: TestClient) -> None:
    _load_demo(client)
    first = _evidence(client, "europe", rollup=True)
    rejected = first["items"][0]["observation"]["id"]
    client.patch(f"/v1/stances/{rejected}", json={"status": "rejected"}).raise_for_status()
    after = _evidence(client, "europe", rollup=True)
    assert after["total"] == first["total"] - 1
    assert rejected not in {i["observation"]["id"] for i in after["items"]}
    assert _point(client, "europe", rollup=True)["count"] == after["total"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"actor": "europe", "from": WEEK[1], "to": WEEK[0]}, "to"),
        ({"actor": "atlantis", "from": WEEK[0], "to": WEEK[1]}, "actor"),
        ({"actor": "europe", "from": "2025-03-24T00:00:00", "to": WEEK[1]}, "from"),
    ],
)
def test_bad_evidence_requests_name_the_field(client: TestClient, params: dict[str, str], field: str) -> None:
    response = client.get("/web/evidence", params={"topic": TOPIC, **params})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_topic_actors_offer_the_observed_and_the_blocs_they_count_for(client: TestClient) -> None:
    _load_demo(client)
    actors = client.get(f"/web/topics/{TOPIC}/actors").json()
    assert actors["observed"][0] == "keir-starmer"  # most observed first
    assert {"europe", "russia", "emmanuel-macron"} <= set(actors["observed"])
    assert {"france", "united-kingdom"} <= set(actors["rollup"])  # through Macron and Starmer
    assert not set(actors["rollup"]) & set(actors["observed"])


def _stored(client: TestClient, topic: str) -> list[dict[str, Any]]:
    page = client.get("/v1/stances", params={"topic": topic, "limit": 1000}).json()
    assert page["next_cursor"] is None
    items: list[dict[str, Any]] = page["items"]
    return items


def test_topic_counts_put_the_most_observed_topic_first(client: TestClient) -> None:
    _load_demo(client)
    counts = client.get("/web/topics").json()["items"]
    topics = client.get("/v1/topics").json()["items"]
    assert {c["topic"] for c in counts} == {t["slug"] for t in topics}
    assert counts[0]["topic"] == TOPIC  # not the first by slug (ceasefire-monitoring) or by name
    ranks = [(-c["observations"], c["name"].casefold()) for c in counts]
    assert ranks == sorted(ranks)
    for count in counts:
        assert count["observations"] == len(_stored(client, count["topic"]))

    rejected = _stored(client, TOPIC)[0]["id"]
    client.patch(f"/v1/stances/{rejected}", json={"status": "rejected"}).raise_for_status()
    after = {c["topic"]: c["observations"] for c in client.get("/web/topics").json()["items"]}
    assert after[TOPIC] == counts[0]["observations"] - 1


def test_topic_actors_of_an_unknown_topic_is_404(client: TestClient) -> None:
    response = client.get("/web/topics/atlantis/actors")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "topic_not_found"


def test_the_page_is_public_but_its_reads_need_a_key(anonymous_client: TestClient) -> None:
    page = anonymous_client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="/static/js/main.js"' in page.text
    assert anonymous_client.get(f"/web/topics/{TOPIC}/actors").status_code == 401
    assert anonymous_client.get("/web/topics").status_code == 401
