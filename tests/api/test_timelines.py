from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("starter_registry")


def _code(client: TestClient, actor: str, day: str, score: float, confidence: float = 1.0) -> int:
    response = client.post(
        "/v1/stances",
        json={
            "actor": actor,
            "topic": "ground-troops-ukraine",
            "score": score,
            "observed_at": day,
            "confidence": confidence,
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _series(body: dict[str, Any], actor: str) -> list[dict[str, Any]]:
    return next(s["points"] for s in body["series"] if s["actor"] == actor)


def test_weekly_buckets_are_confidence_weighted_and_start_on_monday(client: TestClient) -> None:
    _code(client, "europe", "2025-03-24", 1.0, confidence=1.0)  # Monday
    _code(client, "europe", "2025-03-30", -1.0, confidence=0.5)  # Sunday, same ISO week
    _code(client, "europe", "2025-03-31", -0.5)  # next Monday
    body = client.get(
        "/v1/timelines", params={"topic": "ground-troops-ukraine", "actor": "europe", "interval": "week"}
    ).json()
    points = _series(body, "europe")
    assert [p["bucket"] for p in points] == ["2025-03-24T00:00:00Z", "2025-03-31T00:00:00Z"]
    assert points[0]["score"] == pytest.approx((1.0 * 1.0 - 1.0 * 0.5) / 1.5)
    assert [p["count"] for p in points] == [2, 1]
    assert points[0]["weight"] == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("interval", "filled", "empty"),
    [
        ("day", ["2025-02-28", "2025-03-01", "2025-03-31"], 29),
        ("month", ["2025-02-01", "2025-03-01"], 0),
    ],
)
def test_day_and_month_buckets_with_empty_ones_explicit(
    client: TestClient, interval: str, filled: list[str], empty: int
) -> None:
    for day in ("2025-02-28", "2025-03-01", "2025-03-31"):
        _code(client, "france", day, 0.5)
    params = {"topic": "ground-troops-ukraine", "actor": "france", "interval": interval}
    points = _series(client.get("/v1/timelines", params=params).json(), "france")
    assert [p["bucket"][:10] for p in points if p["count"]] == filled
    gaps = [p for p in points if not p["count"]]
    assert len(gaps) == empty
    assert all(p["score"] is None and p["low"] is None for p in gaps)


def test_rejected_observations_drop_out(client: TestClient) -> None:
    _code(client, "russia", "2025-03-03", -1.0)
    wrong = _code(client, "russia", "2025-03-04", 1.0)
    params = {"topic": "ground-troops-ukraine", "actor": "russia", "interval": "month"}
    assert _series(client.get("/v1/timelines", params=params).json(), "russia")[0]["score"] == 0.0
    client.patch(f"/v1/stances/{wrong}", json={"status": "rejected"})
    point = _series(client.get("/v1/timelines", params=params).json(), "russia")[0]
    assert (point["score"], point["count"]) == (-1.0, 1)


def test_without_actors_every_actor_on_the_topic_comes_most_observed_first(client: TestClient) -> None:
    _code(client, "france", "2025-03-03", 1.0)
    for day in ("2025-03-03", "2025-03-10", "2025-03-17"):
        _code(client, "russia", day, -1.0)
    body = client.get("/v1/timelines", params={"topic": "ground-troops-ukraine"}).json()
    assert [s["actor"] for s in body["series"]] == ["russia", "france"]
    assert body["series"][0]["name"] == "Russia"


def test_requested_actor_without_observations_gets_an_empty_series(client: TestClient) -> None:
    body = client.get("/v1/timelines", params={"topic": "ground-troops-ukraine", "actor": "poland"}).json()
    assert body["series"] == [{"actor": "poland", "name": "Poland", "points": []}]


def test_window_and_csv(client: TestClient) -> None:
    for day in ("2025-02-10", "2025-03-10", "2025-04-10"):
        _code(client, "europe", day, 0.5)
    params = {
        "topic": "ground-troops-ukraine",
        "actor": "europe",
        "interval": "month",
        "from": "2025-03-01",
        "to": "2025-04-01",
        "format": "csv",
    }
    response = client.get("/v1/timelines", params=params)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["bucket"], row["score"], row["count"], row["weight"]) == (
        "2025-03-01T00:00:00Z",
        "0.5",
        "1",
        "1.0",
    )
    assert float(row["low"]) < 0.5 < float(row["high"])
    assert "smoothed" not in row


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"topic": "nothing"}, "topic"),
        ({"topic": "ground-troops-ukraine", "actor": "atlantis"}, "actor"),
        ({"topic": "ground-troops-ukraine", "interval": "year"}, "interval"),
        ({}, "topic"),
        ({"topic": "ground-troops-ukraine", "from": "yesterday"}, "from"),
    ],
)
def test_timeline_errors_name_the_field(client: TestClient, params: dict[str, str], field: str) -> None:
    response = client.get("/v1/timelines", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("path", ["/v1/timelines", "/v1/compare"])
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        # the window first, then the topic, then the first unknown actor in the order asked
        (
            {"topic": "nothing", "actor": ["atlantis", "narnia"], "from": "2025-03-02", "to": "2025-03-01"},
            "to",
            "'to' must be after 'from'",
        ),
        ({"topic": "nothing", "actor": ["atlantis", "narnia"]}, "topic", "unknown topic 'nothing'"),
        (
            {"topic": "ground-troops-ukraine", "actor": ["france", "narnia", "atlantis"]},
            "actor",
            "unknown actor 'narnia'",
        ),
    ],
)
def test_series_reads_refuse_in_order(
    client: TestClient, path: str, params: dict[str, Any], field: str, message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["message"] == message


def test_named_actors_come_in_the_order_asked_with_their_names(client: TestClient) -> None:
    _code(client, "russia", "2025-03-03", -1.0)
    params = {"topic": "ground-troops-ukraine", "actor": ["poland", "russia", "poland"]}
    body = client.get("/v1/timelines", params=params).json()
    assert [(s["actor"], s["name"]) for s in body["series"]] == [("poland", "Poland"), ("russia", "Russia")]
