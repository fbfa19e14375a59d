"""Shifts are detected as data arrives, recorded once, and listed with their evidence."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Actor, Topic
from tests.factories import make_shift

pytestmark = pytest.mark.usefixtures("starter_registry")
TOPIC = "ground-troops-ukraine"
START = date(2025, 1, 6)


def _code(client: TestClient, actor: str, day: date, score: float, **extra: Any) -> int:
    body = {
        "actor": actor,
        "topic": TOPIC,
        "score": score,
        "observed_at": day.isoformat(),
        "evidence": f"{actor} said something on {day}",
        **extra,
    }
    response = client.post("/v1/stances", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _step(client: TestClient, actor: str, before: float, after: float, n: int = 10) -> list[int]:
    ids = [_code(client, actor, START + timedelta(days=4 * i), before) for i in range(n)]
    return ids + [_code(client, actor, START + timedelta(days=4 * (n + i)), after) for i in range(n)]


def _shifts(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/shifts", params={"topic": TOPIC, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_step_is_recorded_once_with_evidence_on_both_sides(client: TestClient) -> None:
    ids = _step(client, "italy", 1.0, -1.0)
    [shift] = _shifts(client, actor="italy")
    assert shift["direction"] == "toward_oppose"
    assert shift["before"] > 0.5
    assert shift["after"] < -0.5
    switch = START + timedelta(days=40)
    assert abs(date.fromisoformat(shift["at"][:10]) - switch) <= timedelta(days=8)
    assert shift["window_start"] <= shift["at"] <= shift["window_end"]
    before_ids = {e["observation_id"] for e in shift["evidence_before"]}
    after_ids = {e["observation_id"] for e in shift["evidence_after"]}
    assert before_ids
    assert before_ids <= set(ids[:10])
    assert after_ids
    assert after_ids <= set(ids[10:])
    assert shift["evidence_after"][0]["evidence"].startswith("italy said")
    assert 0 < shift["confidence"] <= 1
    # why it is called: bases strongest first, the first is the grade, one sentence per basis
    assert shift["basis"]
    assert set(shift["basis"]) <= {"stated", "statistical", "observed", "office_change"}
    assert shift["grade"] == shift["basis"][0]
    assert len(shift["reasons"]) == len(shift["basis"])
    assert all(isinstance(r, str) and r for r in shift["reasons"])
    assert shift["office_change"] is None
    # Grafana annotation fields
    assert shift["time"] == shift["at"]
    assert shift["title"].startswith("Italy: toward oppose")
    assert shift["text"]

    # more of the same after the step changes nothing about the record
    first_detected = shift["first_detected_at"]
    _code(client, "italy", START + timedelta(days=90), -1.0)
    [again] = _shifts(client, actor="italy")
    assert (again["id"], again["first_detected_at"]) == (shift["id"], first_detected)


def test_a_stable_actor_has_no_shift(client: TestClient) -> None:
    for i in range(20):
        _code(client, "russia", START + timedelta(days=3 * i), -1.0 if i % 3 else -0.5)
    assert _shifts(client, actor="russia") == []


def test_since_lists_only_new_or_moved_shifts(client: TestClient) -> None:
    _step(client, "poland", -1.0, 1.0)
    [shift] = _shifts(client, actor="poland")
    assert shift["direction"] == "toward_support"
    later = shift["updated_at"]
    assert [s["id"] for s in _shifts(client, actor="poland", since=later)] == [shift["id"]]
    assert {s["actor"] for s in _shifts(client, since=later)} >= {"poland", "europe"}, "blocs it rolls into"
    assert _shifts(client, since="2099-01-01T00:00:00Z") == []


def test_bloc_shift_through_roll_up_and_min_delta(client: TestClient) -> None:
    _step(client, "germany", 0.5, -0.5)
    europe = _shifts(client, actor="europe")
    assert [s["direction"] for s in europe] == ["toward_oppose"], "germany's step shows in europe's roll-up"
    assert _shifts(client, actor="europe", min_delta=1.5) == []


def test_a_group_of_european_states_shifts_europe(client: TestClient) -> None:
    # The coalition of the willing is no member of Europe, but all its starter-registry members are
    # (from 2025-03-02): its statements count for Europe's roll-up from then on, and writing them
    # refreshes Europe's shifts.
    coalition = "coalition-of-the-willing"
    _code(client, coalition, date(2025, 2, 20), -1.0)  # before it had members
    formed = date(2025, 3, 3)
    for i in range(20):
        _code(client, coalition, formed + timedelta(days=4 * i), 1.0 if i < 10 else -1.0)
    [europe] = _shifts(client, actor="europe")
    assert europe["direction"] == "toward_oppose"
    assert _shifts(client, actor="united-states") == [], "no member of the coalition"
    body = client.get(
        "/v1/timelines", params={"topic": TOPIC, "actor": "europe", "rollup": "true", "interval": "month"}
    ).json()
    assert sum(p["count"] for p in body["series"][0]["points"]) == 20


def test_rejecting_the_evidence_withdraws_the_shift(client: TestClient) -> None:
    ids = _step(client, "spain", 1.0, -1.0, n=8)
    assert len(_shifts(client, actor="spain")) == 1
    for observation_id in ids[8:]:
        assert client.patch(f"/v1/stances/{observation_id}", json={"status": "rejected"}).status_code == 200
    assert _shifts(client, actor="spain") == []
    [withdrawn] = _shifts(client, actor="spain", include_withdrawn=True)
    assert withdrawn["status"] == "withdrawn"
    for observation_id in ids[8:]:
        client.patch(f"/v1/stances/{observation_id}", json={"status": "verified"})
    [revived] = _shifts(client, actor="spain", include_withdrawn=True)
    assert (revived["id"], revived["status"]) == (withdrawn["id"], "active")
    assert revived["first_detected_at"] == withdrawn["first_detected_at"]


def test_shift_list_errors_and_csv(client: TestClient) -> None:
    assert client.get("/v1/shifts", params={"topic": "nothing"}).json()["error"]["field"] == "topic"
    assert client.get("/v1/shifts", params={"actor": "nobody"}).json()["error"]["field"] == "actor"
    _step(client, "italy", 1.0, -1.0)
    text = client.get("/v1/shifts", params={"topic": TOPIC, "format": "csv"}).text
    header = text.splitlines()[0].split(",")
    assert header[:4] == ["id", "time", "title", "text"]


def test_grafana_recipe_payloads(client: TestClient) -> None:
    """The exact URLs the README's Grafana (Infinity) recipe uses, and the shapes it relies on."""
    _step(client, "europe", 1.0, -1.0)
    series = client.get(
        "/v1/timelines?topic=ground-troops-ukraine&actor=europe&rollup=true&interval=week&format=csv"
    )
    rows = list(csv.DictReader(io.StringIO(series.text)))
    assert {"bucket", "score", "low", "high", "actor"} <= set(rows[0])
    assert all(datetime.fromisoformat(r["bucket"].replace("Z", "+00:00")).tzinfo for r in rows)
    assert {r["actor"] for r in rows} == {"europe"}
    annotations = client.get("/v1/shifts?topic=ground-troops-ukraine&actor=europe").json()["items"]
    assert annotations
    for item in annotations:
        assert datetime.fromisoformat(item["time"].replace("Z", "+00:00")).tzinfo is not None
        assert isinstance(item["title"], str)
        assert item["title"]
        assert isinstance(item["text"], str)


def _stored_shifts(session: Session) -> None:
    """Four recorded shifts of different grades (no detection involved: no observation is written)."""
    topic = session.scalars(select(Topic).where(Topic.slug == TOPIC)).one()
    actors = {a.slug: a for a in session.scalars(select(Actor))}
    make_shift(session, actor=actors["italy"], topic=topic, basis="stated,statistical", confidence=0.99)
    make_shift(session, actor=actors["spain"], topic=topic, basis="statistical", confidence=0.96)
    make_shift(session, actor=actors["poland"], topic=topic, basis="observed", confidence=0.7)
    make_shift(
        session,
        actor=actors["germany"],
        topic=topic,
        basis="office_change,observed",
        confidence=0.8,
        office_change={
            "before": ["old-chancellor"],
            "after": ["new-chancellor"],
            "at": "2025-03-01T00:00:00Z",
        },
    )
    session.commit()


def _actors(client: TestClient, **params: Any) -> set[str]:
    return {s["actor"] for s in _shifts(client, **params)}


def test_shifts_carry_their_basis_reasons_and_office_change(client: TestClient, session: Session) -> None:
    _stored_shifts(session)
    by_actor = {s["actor"]: s for s in _shifts(client)}
    italy, germany = by_actor["italy"], by_actor["germany"]
    assert (italy["basis"], italy["grade"]) == (["stated", "statistical"], "stated")
    assert italy["reasons"] == ["reason for stated", "reason for statistical"]
    assert italy["office_change"] is None
    assert italy["title"].endswith("[stated]")
    assert (germany["basis"], germany["grade"]) == (["office_change", "observed"], "office_change")
    assert germany["office_change"] == {
        "before": ["old-chancellor"],
        "after": ["new-chancellor"],
        "at": "2025-03-01T00:00:00Z",
    }
    assert germany["title"].endswith("[office change]")


def test_basis_and_min_confidence_filter_the_list(client: TestClient, session: Session) -> None:
    _stored_shifts(session)
    assert _actors(client) == {"italy", "spain", "poland", "germany"}
    assert _actors(client, basis="stated") == {"italy"}
    assert _actors(client, basis="statistical") == {"italy", "spain"}, "any basis counts, not only the grade"
    assert _actors(client, basis="observed") == {"poland", "germany"}
    assert _actors(client, basis=["stated", "office_change"]) == {"italy", "germany"}
    assert _actors(client, min_confidence=0.9) == {"italy", "spain"}
    assert _actors(client, min_confidence=0.99) == {"italy"}
    assert _actors(client, basis="observed", min_confidence=0.75) == {"germany"}
    assert _actors(client, basis="observed", min_confidence=1) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"basis": "guessed"}, "basis[0]"),
        ({"basis": ["stated", "Stated"]}, "basis[1]"),
        ({"min_confidence": "1.5"}, "min_confidence"),
        ({"min_confidence": "-0.1"}, "min_confidence"),
        ({"min_confidence": "high"}, "min_confidence"),
    ],
)
def test_bad_basis_or_min_confidence_is_a_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/v1/shifts", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_csv_has_the_basis_and_grade(client: TestClient, session: Session) -> None:
    _stored_shifts(session)
    text = client.get("/v1/shifts", params={"topic": TOPIC, "format": "csv"}).text
    rows = {r["actor"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (rows["italy"]["basis"], rows["italy"]["grade"]) == ("stated+statistical", "stated")
    assert (rows["spain"]["basis"], rows["spain"]["grade"]) == ("statistical", "statistical")
    assert (rows["germany"]["basis"], rows["germany"]["grade"]) == ("office_change+observed", "office_change")


def test_a_new_chancellor_moving_germany_is_an_office_change(client: TestClient) -> None:
    # the starter registry dates Scholz's chancellorship to 2025-05-06 and Merz's from then
    for day in (date(2025, 1, 14), date(2025, 3, 18)):
        _code(client, "olaf-scholz", day, -1.0)
    for day in (date(2025, 6, 24), date(2025, 8, 28)):
        _code(client, "friedrich-merz", day, 0.5)
    [shift] = _shifts(client, actor="germany")
    assert shift["direction"] == "toward_support"
    assert shift["basis"] == ["observed", "office_change"]
    assert shift["office_change"]["before"] == ["olaf-scholz"]
    assert shift["office_change"]["after"] == ["friedrich-merz"]
    assert shift["office_change"]["at"].startswith("2025-05-06")
    assert len(shift["reasons"]) == len(shift["basis"])
    # each chancellor on his own holds one position: no shift for either person
    assert _shifts(client, actor="olaf-scholz") == _shifts(client, actor="friedrich-merz") == []
