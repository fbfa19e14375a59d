"""What follows from the observations goes through one unit of work (`app.store.unit_of_work`):
store functions record their aggregate deltas and touched series, one hook applies them at
commit (then queues the series for shift detection, or detects at once), savepoints take theirs along when they roll
back, and no write path does either by hand."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Actor, ShiftRefresh, Topic
from app.store import aggregates, unit_of_work
from tests.factories import article_payload

APP = Path(__file__).resolve().parents[2] / "app"

SENTENCES = (
    "France said it would send troops to Ukraine.",
    "Italy ruled out sending troops to Ukraine.",
    "Britain backed the plan to send ground troops to Ukraine.",
    "Germany rejected sending ground troops to Ukraine.",
    "Poland said it would not send its soldiers to Ukraine.",
)


def test_no_write_path_applies_the_aggregates_or_detects_shifts_by_hand() -> None:
    owners = {
        APP / "store" / "aggregates.py",
        APP / "store" / "unit_of_work.py",
        APP / "shifts" / "refresh.py",
    }
    callers = [
        f"{path.relative_to(APP.parent)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        if path not in owners
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\baggregates\.apply\(|\bapply_pending\(|\bafter_write\(|\brefresh_shifts\(", line)
    ]
    assert callers == []


def _deltas(topic_id: int) -> aggregates.Deltas:
    deltas = aggregates.Deltas()
    deltas.add(topic_id=topic_id, actor_id=1, observed_at=datetime(2025, 1, 1, tzinfo=UTC), score=1.0,
               confidence=1.0, sign=1)  # fmt: skip
    return deltas


def test_a_rolled_back_savepoint_takes_its_deltas_along(session: Session) -> None:
    unit_of_work.record(session, _deltas(1))

    unit_of_work.touch(session, {(1, 1)})

    def failing_item() -> None:
        with unit_of_work.savepoint(session):
            unit_of_work.record(session, _deltas(2))
            unit_of_work.touch(session, {(2, 1)})
            raise RuntimeError("this item fails")

    with pytest.raises(RuntimeError):
        failing_item()
    with unit_of_work.savepoint(session):
        unit_of_work.record(session, _deltas(3))
        unit_of_work.touch(session, {(3, 1)})
    pending = session.info["stanceline.pending_deltas"]
    assert sorted(row["topic_id"] for row in pending.rows()) == [1, 3]
    assert session.info["stanceline.touched_series"] == {(1, 1), (3, 1)}
    # ids 1 to 3 name no rows here: nothing to apply or detect
    session.info.pop("stanceline.pending_deltas")
    session.info.pop("stanceline.touched_series")


@pytest.mark.usefixtures("starter_registry")
@pytest.mark.parametrize(("mode", "queued"), [("deferred", True), ("sync", False), ("off", False)])
def test_touched_series_are_queued_for_the_shift_worker_only_when_detection_is_deferred(
    session: Session, settings: Settings, mode: str, queued: bool
) -> None:
    topic_id, actor_id = session.scalar(select(Topic.id).limit(1)), session.scalar(select(Actor.id).limit(1))
    assert topic_id is not None
    assert actor_id is not None
    series = (topic_id, actor_id)
    session.info["settings"] = settings.model_copy(update={"shift_detection": mode})
    unit_of_work.touch(session, {series})
    session.commit()
    stored = {tuple(row) for row in session.execute(select(ShiftRefresh.topic_id, ShiftRefresh.actor_id))}
    assert stored == ({series} if queued else set())


@pytest.mark.usefixtures("starter_registry")
@pytest.mark.parametrize("seed", [1, 2])
def test_random_writes_leave_the_aggregates_equal_to_the_observations(
    client: TestClient, session: Session, seed: int
) -> None:
    """Ingests, batches with bad items, revisions, reviews (verify, correct, reject, un-reject),
    manual coding and deletions in a random order: afterwards the stored aggregates are exactly
    what the observations sum to (what `stanceline db check` checks)."""
    # touched series are queued, not refreshed in each request: shift detection is not under test
    session.info["settings"] = session.info["settings"].model_copy(update={"shift_detection": "deferred"})
    rng = random.Random(seed)
    articles: list[dict[str, object]] = []
    ids: list[int] = []

    def payload() -> dict[str, object]:
        day = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=rng.randrange(60))
        text = " ".join(rng.sample(SENTENCES, rng.randint(1, 3)))
        return article_payload(text=text, published_at=day.isoformat())

    for _ in range(24):
        action = rng.choice(("post", "post", "batch", "revise", "review", "manual", "delete"))
        if action == "post" or not ids:
            body = payload()
            answer = client.post("/v1/articles?wait=true", json=body)
            assert answer.status_code == 201, answer.text
            articles.append(body)
            ids.append(answer.json()["article_id"])
        elif action == "batch":
            good = [payload() for _ in range(rng.randint(1, 3))]
            bad = {"url": "not a url", "text": "", "published_at": "yesterday"}
            answer = client.post("/v1/articles/batch?wait=true", json={"articles": [*good, bad]})
            assert answer.status_code == 200, answer.text
            results = answer.json()["results"]
            assert results[-1]["status"] == "error"
            for body, result in zip(good, results, strict=False):
                articles.append(body)
                ids.append(result["article_id"])
        elif action == "revise":
            index = rng.randrange(len(ids))
            revised = {**articles[index], "text": " ".join(rng.sample(SENTENCES, 2))}
            assert client.post("/v1/articles?wait=true", json=revised).status_code in (200, 201)
            articles[index] = revised
        elif action == "review":
            stances = client.get("/v1/stances", params={"article": rng.choice(ids)}).json()["items"]
            if stances:
                stance = rng.choice(stances)
                change = rng.choice(
                    ({"status": "verified"}, {"status": "rejected"}, {"status": "auto"}, {"score": -0.5})
                )
                if stance["status"] == "suggested" and change == {"status": "auto"}:
                    change = {"status": "verified"}
                assert client.patch(f"/v1/stances/{stance['id']}", json=change).status_code == 200
        elif action == "manual":
            day = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=rng.randrange(60))
            manual = {"actor": "italy", "topic": "ground-troops-ukraine", "score": rng.choice((-1, 0.5, 1)),
                      "observed_at": day.date().isoformat(), "evidence": "Italy said so.", "article_id": rng.choice(ids)}  # fmt: skip
            answer = client.post("/v1/stances", json=manual)
            assert answer.status_code == 201, answer.text
        else:
            index = rng.randrange(len(ids))
            assert client.delete(f"/v1/articles/{ids[index]}").status_code == 200
            del ids[index], articles[index]
    session.expire_all()
    assert aggregates.differences(session) == []
