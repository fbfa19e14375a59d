"""Roll-up, bands, smoothing, per-topic timelines, compare, network and Parquet on the API."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("starter_registry")
TOPIC = "ground-troops-ukraine"


def _code(client: TestClient, actor: str, day: str, score: float, confidence: float = 1.0) -> None:
    body = {"actor": actor, "topic": TOPIC, "score": score, "observed_at": day, "confidence": confidence}
    assert client.post("/v1/stances", json=body).status_code == 201


def _points(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    body = client.get("/v1/timelines", params={"topic": TOPIC, **params}).json()
    return [p for p in body["series"][0]["points"] if p["count"]]


def test_rollup_follows_membership_dates(client: TestClient) -> None:
    _code(client, "emmanuel-macron", "2016-06-01", -1.0)  # before he was president
    _code(client, "emmanuel-macron", "2025-03-03", 1.0)
    _code(client, "france", "2025-03-05", 0.5)
    plain = _points(client, actor="france", interval="month")
    assert [(p["bucket"][:7], p["count"]) for p in plain] == [("2025-03", 1)]
    rolled = _points(client, actor="france", interval="month", rollup="true")
    # Macron's +1 counts at half weight (STANCELINE_ROLLUP_MEMBER_WEIGHT), France's own +0.5 fully
    assert [(p["bucket"][:7], p["count"], p["score"]) for p in rolled] == [("2025-03", 2, 0.666667)]
    europe = _points(client, actor="europe", interval="month", rollup="true")
    assert [(p["bucket"][:7], p["count"]) for p in europe] == [("2025-03", 2)], (
        "transitive: Macron -> France -> Europe"
    )


def test_uk_counts_for_the_eu_only_until_it_left(client: TestClient) -> None:
    _code(client, "united-kingdom", "2020-01-31", 1.0)
    _code(client, "united-kingdom", "2020-02-01", 1.0)
    eu = _points(client, actor="european-union", interval="day", rollup="true")
    assert [p["bucket"][:10] for p in eu] == ["2020-01-31"]


def test_band_contains_the_level_and_narrows_with_data(client: TestClient) -> None:
    _code(client, "russia", "2025-03-03", -1.0)
    for day in ("2025-03-10", "2025-03-11", "2025-03-12", "2025-03-13", "2025-03-14"):
        _code(client, "russia", day, -0.5)
    one, many = _points(client, actor="russia", interval="week")
    for point in (one, many):
        assert point["low"] <= point["score"] <= point["high"]
    assert (many["high"] - many["low"]) < (one["high"] - one["low"])


def test_ewm_smoothing_carries_across_gaps(client: TestClient) -> None:
    _code(client, "poland", "2025-03-03", 1.0)
    _code(client, "poland", "2025-03-24", -1.0)
    body = client.get(
        "/v1/timelines", params={"topic": TOPIC, "actor": "poland", "smooth": "ewm", "halflife": 1}
    ).json()
    points = body["series"][0]["points"]
    assert body["smooth"] == "ewm"
    assert [p["smoothed"] for p in points[:3]] == [1.0, 1.0, 1.0]
    assert -1.0 < points[3]["smoothed"] < 1.0


def test_topic_timeline_lists_every_actor_most_observed_first(client: TestClient) -> None:
    _code(client, "france", "2025-03-03", 1.0)
    _code(client, "russia", "2025-03-03", -1.0)
    _code(client, "russia", "2025-03-10", -1.0)
    body = client.get(f"/v1/topics/{TOPIC}/timeline", params={"interval": "month"}).json()
    assert [s["actor"] for s in body["series"]] == ["russia", "france"]
    assert client.get("/v1/topics/nothing/timeline").status_code == 422


def test_timeline_as_parquet(client: TestClient) -> None:
    _code(client, "france", "2025-03-03", 1.0)
    response = client.get("/v1/timelines", params={"topic": TOPIC, "actor": "france", "format": "parquet"})
    frame = pd.read_parquet(io.BytesIO(response.content))
    assert frame[["actor", "score", "count"]].to_dict("records") == [
        {"actor": "france", "score": 1.0, "count": 1}
    ]
    assert str(frame["bucket"].dt.tz) == "UTC"


def test_compare_aligns_and_measures_distance(client: TestClient) -> None:
    _code(client, "france", "2025-03-03", 1.0)
    _code(client, "russia", "2025-03-04", -1.0)
    _code(client, "france", "2025-04-03", 0.5)
    body = client.get(
        "/v1/compare", params=[("topic", TOPIC), ("actor", "france"), ("actor", "russia")]
    ).json()
    assert body["actors"] == ["france", "russia"]
    march = next(row for row in body["aligned"] if row["bucket"].startswith("2025-03"))
    assert march["levels"] == {"france": 1.0, "russia": -1.0}
    assert body["pairs"][0]["mean_distance"] == 2.0
    assert body["pairs"][0]["buckets"] == 1
    one_actor = client.get("/v1/compare", params={"topic": TOPIC, "actor": "france"})
    assert one_actor.status_code == 422
    assert one_actor.json()["error"]["field"] == "actor"


def test_network_json_and_graphml(client: TestClient) -> None:
    for actor, score in [("france", 1.0), ("united-kingdom", 0.5), ("russia", -1.0), ("italy", -0.5)]:
        _code(client, actor, "2025-03-03", score)
    body = client.get("/v1/network", params={"topic": TOPIC}).json()
    sides = {n["actor"]: n["side"] for n in body["nodes"]}
    assert sides == {"france": "support", "united-kingdom": "support", "russia": "oppose", "italy": "oppose"}
    pairs = {frozenset((e["source"], e["target"])) for e in body["edges"]}
    assert pairs == {frozenset({"france", "united-kingdom"}), frozenset({"italy", "russia"})}
    graphml = client.get("/v1/network", params={"topic": TOPIC, "format": "graphml"})
    assert graphml.headers["content-type"].startswith("application/graphml+xml")
    root = ET.fromstring(graphml.content)
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    assert len(root.findall(".//g:node", ns)) == 4
    assert len(root.findall(".//g:edge", ns)) == 2
    window = client.get("/v1/network", params={"topic": TOPIC, "from": "2025-04-01"}).json()
    assert window["nodes"] == []


def test_topic_timeline_with_rollup_ranks_and_rolls_up_every_actor(client: TestClient) -> None:
    _code(client, "emmanuel-macron", "2025-03-03", 1.0)
    _code(client, "russia", "2025-03-03", -1.0)
    _code(client, "russia", "2025-03-10", -1.0)
    body = client.get(f"/v1/topics/{TOPIC}/timeline", params={"interval": "month", "rollup": "true"}).json()
    # the actors observed, most observed first, then every bloc and state they count for (Macron ->
    # France -> Europe, the EU, NATO and the coalition France belongs to), most counted first
    assert [s["actor"] for s in body["series"]] == [
        "russia",
        "emmanuel-macron",
        "coalition-of-the-willing",
        "europe",
        "european-union",
        "france",
        "nato",
    ]
    assert body["rollup"] is True
    france = next(s for s in body["series"] if s["actor"] == "france")
    assert [(p["count"], p["score"], p["weight"]) for p in france["points"]] == [(1, 1.0, 0.5)]
    # the same list from /v1/timelines without `actor` (the Grafana recipe), as CSV too
    same = client.get("/v1/timelines", params={"topic": TOPIC, "interval": "month", "rollup": "true"}).json()
    assert [s["actor"] for s in same["series"]] == [s["actor"] for s in body["series"]]
    csv = client.get(
        "/v1/timelines", params={"topic": TOPIC, "interval": "month", "rollup": "true", "format": "csv"}
    )
    assert sorted(set(pd.read_csv(io.StringIO(csv.text))["actor"])) == sorted(
        s["actor"] for s in body["series"]
    )
    # a bloc only its members' observations from before their membership would reach is left out
    _code(client, "emmanuel-macron", "2016-06-01", -1.0)  # before he was president
    early = client.get(
        f"/v1/topics/{TOPIC}/timeline",
        params={"interval": "month", "rollup": "true", "from": "2016-01-01", "to": "2016-12-01"},
    ).json()
    assert [s["actor"] for s in early["series"]] == ["emmanuel-macron", "russia"]  # 2 each: by slug
