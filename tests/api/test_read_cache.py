"""Cached timeline reads: a hit answers exactly what a fresh computation would, every write path
makes them stale at once (in every process), and a current ETag gets a 304."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api import timelines
from app.config import Settings
from app.ingest import articles as ingest
from app.main import create_app
from app.models import DataRevision
from app.registry import context as registry_context
from app.schemas import ArticleCreate
from app.store import unit_of_work
from tests.conftest import share_session
from tests.factories import article_payload
from tests.workload import ACTORS, TOPIC, Workload

pytestmark = pytest.mark.usefixtures("starter_registry")

TIMELINE = f"/v1/timelines?topic={TOPIC}&interval=week"
TOPIC_TIMELINE = f"/v1/topics/{TOPIC}/timeline?interval=month"


class Computations:
    """Counts how often a timeline is really computed (not answered from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = timelines._timeline

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(timelines, "_timeline", counted)


@pytest.fixture
def computations(monkeypatch: pytest.MonkeyPatch) -> Computations:
    return Computations(monkeypatch)


def code_stance(client: TestClient, actor: str, day: str, score: float) -> int:
    body = {"actor": actor, "topic": TOPIC, "score": score, "observed_at": day, "confidence": 1.0}
    response = client.post("/v1/stances", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def count_of(body: dict[str, Any], actor: str) -> int:
    points = next(s["points"] for s in body["series"] if s["actor"] == actor)
    return sum(int(p["count"]) for p in points)


def test_a_repeated_read_is_computed_once_and_answered_the_same(
    client: TestClient, computations: Computations
) -> None:
    code_stance(client, "france", "2025-03-03", 0.5)
    first = client.get(TIMELINE)
    again = client.get(TIMELINE)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert computations.count == 1
    client.get(TIMELINE + "&actor=france")  # another URL is another entry
    assert computations.count == 2


@pytest.mark.parametrize("url", [TIMELINE, TOPIC_TIMELINE])
def test_every_write_path_makes_the_cached_read_stale(
    client: TestClient, computations: Computations, url: str
) -> None:
    stance = code_stance(client, "france", "2025-03-03", 0.5)
    seen = [client.get(url)]

    def changed() -> dict[str, Any]:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["etag"] != seen[-1].headers["etag"]
        seen.append(response)
        return dict(response.json())

    assert count_of(seen[0].json(), "france") == 1
    code_stance(client, "france", "2025-03-04", -0.5)  # manual coding
    assert count_of(changed(), "france") == 2
    assert client.patch(f"/v1/stances/{stance}", json={"status": "rejected"}).status_code == 200  # review
    assert count_of(changed(), "france") == 1
    posted = client.post("/v1/articles", json=article_payload(url="https://example.org/cache/1"))  # ingest
    assert posted.status_code == 201, posted.text
    assert posted.json()["observations"] > 0
    changed()
    deleted = client.delete(f"/v1/articles/{posted.json()['article_id']}")  # deletion
    assert deleted.status_code == 200
    changed()
    renamed = client.patch("/v1/actors/france", json={"name": "France (renamed)"})  # registry
    assert renamed.status_code == 200, renamed.text
    series = next(s for s in changed()["series"] if s["actor"] == "france")
    assert series["name"] == "France (renamed)"
    assert computations.count == len(seen)


def test_a_failed_write_leaves_the_cached_read_current(
    client: TestClient, computations: Computations
) -> None:
    code_stance(client, "france", "2025-03-03", 0.5)
    etag = client.get(TIMELINE).headers["etag"]
    refused = client.post("/v1/stances", json={"actor": "france", "topic": TOPIC, "score": 7})
    assert refused.status_code == 422
    assert client.get(TIMELINE).headers["etag"] == etag
    assert computations.count == 1


def test_a_current_etag_gets_304_without_a_body(client: TestClient) -> None:
    code_stance(client, "france", "2025-03-03", 0.5)
    first = client.get(TIMELINE)
    assert first.headers["cache-control"] == "no-cache"
    unchanged = client.get(TIMELINE, headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == first.headers["etag"]
    code_stance(client, "france", "2025-03-04", 0.5)
    changed = client.get(TIMELINE, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert count_of(changed.json(), "france") == 2


def test_errors_are_not_cached(client: TestClient, computations: Computations) -> None:
    for _ in range(2):
        response = client.get("/v1/timelines?topic=no-such-topic")
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "topic"
    assert computations.count == 2


def test_csv_and_json_of_one_timeline_are_kept_apart(client: TestClient) -> None:
    code_stance(client, "france", "2025-03-03", 0.5)
    for _ in range(2):
        as_csv = client.get(TIMELINE + "&format=csv")
        as_json = client.get(TIMELINE)
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert as_json.headers["content-type"] == "application/json"
        assert "timeline-ground-troops-ukraine.csv" in as_csv.headers["content-disposition"]


@pytest.fixture
def uncached_client(settings: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    """The same API and test transaction with the cache off: every read computed afresh."""
    app = create_app(settings.model_copy(update={"read_cache_mb": 0, "shift_detection": "off"}))
    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


def test_cached_reads_equal_fresh_ones_through_random_writes(
    client: TestClient, uncached_client: TestClient, session: Session
) -> None:
    work = Workload(client, session, seed=20261125)
    urls = [
        TIMELINE,
        TOPIC_TIMELINE,
        f"/v1/timelines?topic={TOPIC}&interval=day&actor=france&actor=europe&rollup=true",
        f"/v1/timelines?topic={TOPIC}&interval=week&actor={ACTORS[0]}&smooth=ewm&from=2025-02-03T12:00:00Z",
    ]
    compared = 0
    for _ in range(4):
        work.run(8)
        for url in urls:
            for _ in range(2):  # the second read is a hit
                cached, fresh = client.get(url), uncached_client.get(url)
                assert cached.status_code == fresh.status_code
                assert cached.content == fresh.content, url
                compared += 1
    assert compared == 32


def test_uncommitted_and_rolled_back_changes_do_not_move_the_revision(session: Session) -> None:
    def revision() -> int:
        return int(session.scalar(select(DataRevision.revision)) or 0)

    start = revision()
    session.commit()  # nothing marked: nothing bumped
    assert revision() == start
    unit_of_work.mark_changed(session)
    session.rollback()
    session.commit()
    assert revision() == start
    unit_of_work.mark_changed(session)
    with session.begin_nested():  # a savepoint commits: not yet visible to others
        pass
    assert revision() == start
    session.commit()
    assert revision() == start + 1
    unit_of_work.mark_changed(session)
    savepoint = session.begin_nested()
    savepoint.rollback()  # a rolled-back savepoint keeps the outer transaction's mark
    session.commit()
    assert revision() == start + 2


def test_an_ingest_outside_http_moves_the_data_revision_not_the_registry_revision(session: Session) -> None:
    before = unit_of_work.current(session)
    ingest.ingest_article(
        session,
        ArticleCreate.model_validate(article_payload(url="https://example.org/cache/direct")),
        context=registry_context.load_registry_context(session),
        engine="rules",
    )
    session.commit()
    after = unit_of_work.current(session)
    assert after[1] == before[1] + 1
    assert after[0] == before[0]
