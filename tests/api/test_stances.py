from __future__ import annotations

import csv
import io

import orjson
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Observation
from tests.factories import article_payload
from tests.pages import all_pages

pytestmark = pytest.mark.usefixtures("starter_registry")

MANUAL = {"actor": "europe", "topic": "ground-troops-ukraine", "score": -0.5, "observed_at": "2025-03-26"}


def test_manual_coding_is_stored_as_manual_and_verified(client: TestClient) -> None:
    response = client.post("/v1/stances", json={**MANUAL, "speaker": "one diplomat", "shift": True})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["method"] == "manual"
    assert body["status"] == "verified"
    assert body["label"] == "oppose"
    assert body["observed_at"] == "2025-03-26T00:00:00Z"
    assert body["speaker"] == "one diplomat"
    assert body["shift"] is True
    assert client.get(f"/v1/stances/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"actor": "atlantis"}, 422, "actor"),
        ({"topic": "nothing"}, 422, "topic"),
        ({"score": 1.5}, 422, "score"),
        ({"score": "high"}, 422, "score"),
        ({"label": "support"}, 422, "label"),
        ({"confidence": -0.1}, 422, "confidence"),
        ({"article_id": 424242}, 422, "article_id"),
        ({"observed_at": "2025-03-26T10:00:00"}, 422, "observed_at"),
        ({"colour": "blue"}, 422, "colour"),
    ],
)
def test_bad_manual_coding_names_the_field_and_stores_nothing(
    client: TestClient, session: Session, change: dict[str, object], status: int, field: str
) -> None:
    response = client.post("/v1/stances", json={**MANUAL, **change})
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert session.scalar(select(func.count()).select_from(Observation)) == 0


def test_review_verify_correct_reject(client: TestClient) -> None:
    article_id = client.post("/v1/articles", json=article_payload()).json()["article_id"]
    observations = client.get("/v1/stances", params={"article": article_id}).json()["items"]
    assert observations
    target = observations[0]["id"]

    verified = client.patch(f"/v1/stances/{target}", json={"status": "verified"}).json()
    assert verified["status"] == "verified"

    corrected = client.patch(f"/v1/stances/{target}", json={"score": 0.75}).json()
    assert (corrected["status"], corrected["score"], corrected["label"]) == ("corrected", 0.75, "support")

    contradiction = client.patch(f"/v1/stances/{target}", json={"label": "oppose"})
    assert contradiction.status_code == 422
    assert contradiction.json()["error"]["field"] == "label"
    assert client.get(f"/v1/stances/{target}").json()["label"] == "support"

    rejected = client.patch(
        f"/v1/stances/{target}", json={"status": "rejected", "note": "wrong actor"}
    ).json()
    assert (rejected["status"], rejected["note"]) == ("rejected", "wrong actor")
    assert client.patch("/v1/stances/999999", json={"status": "verified"}).status_code == 404
    assert (
        client.patch(f"/v1/stances/{target}", json={"status": "deleted"}).json()["error"]["field"] == "status"
    )


def test_filters_and_cursor_pagination(client: TestClient) -> None:
    for day, actor, score in [
        (1, "europe", 0.5),
        (2, "france", 1.0),
        (3, "europe", -1.0),
        (4, "russia", -1.0),
    ]:
        client.post(
            "/v1/stances",
            json={
                **MANUAL,
                "actor": actor,
                "score": score,
                "observed_at": f"2025-03-0{day}",
                "confidence": 0.4 if actor == "russia" else 1.0,
            },
        )
    europe = client.get("/v1/stances", params={"actor": "europe"}).json()["items"]
    assert [o["observed_at"][:10] for o in europe] == ["2025-03-01", "2025-03-03"]
    two_actors = client.get("/v1/stances", params=[("actor", "europe"), ("actor", "france")]).json()["items"]
    assert len(two_actors) == 3
    window = client.get("/v1/stances", params={"from": "2025-03-02", "to": "2025-03-04"}).json()["items"]
    assert [o["actor"] for o in window] == ["france", "europe"]
    confident = client.get("/v1/stances", params={"min_confidence": 0.5}).json()["items"]
    assert "russia" not in {o["actor"] for o in confident}
    assert (
        len(client.get("/v1/stances", params={"method": "manual", "status": "verified"}).json()["items"]) == 4
    )

    items, pages = all_pages(client, "/v1/stances", limit=3)
    ids = [o["id"] for o in items]
    assert pages == 2
    assert len(ids) == len(set(ids)) == 4


def test_stances_as_csv_and_ndjson(client: TestClient) -> None:
    client.post("/v1/stances", json=MANUAL)
    as_csv = client.get("/v1/stances", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows[0]["actor"] == "europe"
    assert rows[0]["observed_at"] == "2025-03-26T00:00:00Z"
    as_ndjson = client.get("/v1/stances", params={"format": "ndjson"})
    lines = [orjson.loads(line) for line in as_ndjson.text.splitlines()]
    assert lines[0]["score"] == -0.5


def test_unknown_filter_value_is_a_422(client: TestClient) -> None:
    response = client.get("/v1/stances", params={"status": "lost"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "status"


def test_stances_as_parquet(client: TestClient) -> None:
    client.post("/v1/stances", json=MANUAL)
    response = client.get("/v1/stances", params={"format": "parquet"})
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    frame = pd.read_parquet(io.BytesIO(response.content))
    assert frame["actor"].tolist() == ["europe"]
    assert str(frame["observed_at"].dt.tz) == "UTC"
    assert frame["observed_at"].iloc[0] == pd.Timestamp("2025-03-26", tz="UTC")
