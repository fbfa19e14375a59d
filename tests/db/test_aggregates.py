"""The daily aggregate (`observation_daily`) stays exact through every write path, timelines read
from it give what the observations give, and `stanceline db check` finds any difference."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli.main import DEMO_CORPUS, cli
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from app.models import Actor, Observation, ObservationDaily, Topic
from app.ops import migrate
from app.registry.edits import STARTER_REGISTRY
from app.schemas import Timeline
from app.series import series_levels
from app.store import aggregates, unit_of_work
from app.store import observations as observation_store
from app.store import timelines as timeline_store
from app.timelines import levels, rollup
from tests.conftest import ENGINES, create_database, share_session
from tests.factories import admin_headers
from tests.unit.timelines import buckets
from tests.workload import ACTORS, TOPIC, Workload, random_article


@pytest.fixture
def quick_client(settings: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    """The `client` fixture's API with shift detection off: only the aggregate is under test here."""
    app = create_app(settings.model_copy(update={"shift_detection": "off"}))

    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.fixture
def workload(quick_client: TestClient, session: Session, starter_registry: None) -> Workload:
    work = Workload(quick_client, session, seed=20251124)
    work.run(60)
    return work


def test_random_writes_leave_the_aggregate_exact(workload: Workload, session: Session) -> None:
    assert aggregates.differences(session) == []
    stored = session.execute(select(func.sum(ObservationDaily.count))).scalar_one()
    counted = session.scalar(
        select(func.count()).select_from(Observation).where(Observation.status != "rejected")
    )
    rejected = session.scalar(
        select(func.count()).select_from(Observation).where(Observation.status == "rejected")
    )
    assert stored == counted > 50
    assert rejected, "the workload rejects some observations, which must stay out of the aggregate"
    workload.run(30)  # and on from there
    assert aggregates.differences(session) == []


def _reference(
    session: Session,
    topic: Topic,
    targets: dict[str, int],
    interval: Any,
    window: tuple[datetime | None, datetime | None],
    with_rollup: bool,
) -> pd.DataFrame:
    """Levels computed from the observation rows, as timelines were before the aggregate."""
    lo, hi = window
    ids = timeline_store.member_ids(session, actor_ids=list(targets.values())) if with_rollup else None
    rows = timeline_store.observation_rows(
        session, topic_id=topic.id, actor_ids=ids or list(targets.values()), observed_from=lo, observed_to=hi
    )
    if with_rollup:
        rows = rollup.attribute(rows, timeline_store.memberships(session), list(targets), member_weight=0.5)
    end = hi - timedelta(microseconds=1) if hi is not None else None
    return levels.levels(
        buckets.bucket_sums(rows, interval), interval, start=lo, end=end, series=list(targets)
    )


WINDOWS = [
    (None, None),
    (datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)),
    # edges inside a day: partial days come from the observations
    (datetime(2025, 2, 3, 13, 30, tzinfo=UTC), datetime(2025, 4, 17, 6, 15, tzinfo=UTC)),
    (datetime(2025, 3, 10, 2, tzinfo=UTC), datetime(2025, 3, 10, 20, tzinfo=UTC)),
    # exactly one ISO week; less than a week; open on one side
    (datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 10, tzinfo=UTC)),
    (datetime(2025, 3, 5, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC)),
    (datetime(2025, 2, 12, tzinfo=UTC), None),
    (None, datetime(2025, 3, 19, 12, tzinfo=UTC)),
]


@pytest.mark.parametrize("with_rollup", [False, True], ids=["plain", "rollup"])
def test_timelines_from_the_aggregate_equal_timelines_from_rows(
    workload: Workload, session: Session, with_rollup: bool
) -> None:
    topic = session.scalars(select(Topic).where(Topic.slug == TOPIC)).one()
    targets = dict(session.execute(select(Actor.slug, Actor.id).where(Actor.slug.in_(ACTORS))).all())
    compared = 0
    for interval in ("day", "week", "month"):
        for lo, hi in WINDOWS:
            got = series_levels(
                session,
                topic=topic,
                actor_ids=targets,
                interval=interval,  # type: ignore[arg-type]
                observed_from=lo,
                observed_to=hi,
                with_rollup=with_rollup,
                halflife=None,
                member_weight=0.5,
            )
            want = _reference(session, topic, targets, interval, (lo, hi), with_rollup)
            pd.testing.assert_frame_equal(
                got.reset_index(drop=True), want.reset_index(drop=True), check_exact=False, rtol=1e-9
            )
            compared += int(want["count"].sum())
    assert compared > 0


def test_a_review_moves_the_aggregate_by_exactly_its_observation(
    client: TestClient, session: Session, starter_registry: None
) -> None:
    body = {
        "actor": "italy",
        "topic": TOPIC,
        "score": 1.0,
        "confidence": 0.5,
        "observed_at": "2025-03-06T23:30:00Z",
    }
    observation = client.post("/v1/stances", json=body).json()
    key = (ObservationDaily.actor_id == session.scalar(select(Actor.id).where(Actor.slug == "italy")),)

    def stored() -> tuple[int, float] | None:
        row = session.execute(
            select(ObservationDaily.count, ObservationDaily.weighted_sum).where(*key)
        ).first()
        return None if row is None else (row[0], row[1])

    assert stored() == (1, 0.5)
    client.patch(f"/v1/stances/{observation['id']}", json={"score": -0.5})
    assert stored() == (1, -0.25)
    client.patch(f"/v1/stances/{observation['id']}", json={"status": "rejected"})
    assert stored() is None  # its only observation rejected: the row goes
    client.patch(f"/v1/stances/{observation['id']}", json={"status": "verified"})
    assert stored() == (1, -0.25)


def test_deleting_an_actor_cascades_to_its_aggregate_rows(workload: Workload, session: Session) -> None:
    busiest = session.scalars(
        select(ObservationDaily.actor_id).group_by(ObservationDaily.actor_id).order_by(func.count().desc())
    ).first()
    rows = select(func.count()).select_from(ObservationDaily).where(ObservationDaily.actor_id == busiest)
    assert session.scalar(rows)
    session.execute(delete(Actor).where(Actor.id == busiest))
    assert session.scalar(rows) == 0
    assert aggregates.differences(session) == []


def test_bulk_insert_stores_what_the_orm_path_stores(session: Session, starter_registry: None) -> None:
    topic_id = session.scalar(select(Topic.id).where(Topic.slug == TOPIC))
    actor_id = session.scalar(select(Actor.id).where(Actor.slug == "france"))
    start = datetime(2021, 3, 1, tzinfo=UTC)
    bulk_count = 2 * max(observation_store.BULK_ROWS, aggregates.BULK_ROWS)  # the vectorised paths too

    def rows(tag: str, count: int) -> list[dict[str, Any]]:
        return [
            {
                "actor_id": actor_id,
                "topic_id": topic_id,
                "score": round(-1 + (i % 50) / 25, 4),
                "label": "neutral",
                "confidence": 0.75,
                # a day apart, at midnight and at odd times with microseconds
                "observed_at": start + timedelta(days=i, microseconds=(i % 3) * 123456789),
                "evidence": f"{tag} {i} «quoted» ✓",
                "method": "rules",
                "status": "rejected" if i % 7 == 0 else "auto",
                "shift": i % 2 == 0,
                "extras": {"supporting": [i]} if i % 3 == 0 else None,
            }
            for i in range(count)
        ]

    observation_store.add_observations(session, rows=rows("small", observation_store.BULK_ROWS - 1))
    observation_store.add_observations(session, rows=rows("bulk", bulk_count))
    # both inserts' deltas in one upsert, the bulk path's own (at least BULK_ROWS daily rows)
    assert unit_of_work.apply_pending(session) >= aggregates.BULK_ROWS
    fields = [
        c
        for c in Observation.__table__.columns.keys()  # noqa: SIM118 - a column collection, not a dict
        if c not in ("id", "created_at", "updated_at", "evidence")
    ]

    def stored(tag: str) -> list[tuple[Any, ...]]:
        found = session.scalars(
            select(Observation).where(Observation.evidence.like(f"{tag} %")).order_by(Observation.id)
        )
        return [(str(o.evidence).split(" ", 1)[1], *(getattr(o, f) for f in fields)) for o in found]

    def raw_stamps(tag: str) -> list[Any]:
        """observed_at as the database holds it (text on SQLite): both paths must write the same."""
        query = text("SELECT observed_at FROM observation WHERE evidence LIKE :tag ORDER BY id")
        return list(session.execute(query, {"tag": f"{tag} %"}).scalars())

    by_orm, by_bulk = stored("small"), stored("bulk")
    assert len(by_bulk) == bulk_count
    assert by_bulk[: len(by_orm)] == by_orm
    assert raw_stamps("bulk")[: len(by_orm)] == raw_stamps("small")
    assert by_bulk[0][1 + fields.index("observed_at")] == start  # timezone-aware UTC
    assert aggregates.differences(session) == []
    newest = session.scalar(select(func.max(Observation.created_at)))
    assert newest is not None
    assert newest.tzinfo is not None
    # a window bound at a midnight finds the bulk rows stored at that midnight
    at_start = select(func.count()).where(
        Observation.observed_at == start, Observation.evidence.like("bulk %")
    )
    assert session.scalar(at_start) == 1


def test_bulk_deltas_equal_row_by_row_deltas() -> None:
    rng = random.Random(5)
    rows = [
        {
            "topic_id": rng.randint(1, 3),
            "actor_id": rng.randint(1, 20),
            "observed_at": datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 90)),
            "score": rng.uniform(-1, 1),
            "confidence": rng.uniform(0, 1),
            "status": rng.choice(["auto", "verified", "rejected"]),
        }
        for _ in range(3 * aggregates.BULK_ROWS)
    ]
    vectorised = aggregates.deltas_of(rows, sign=-1).rows()
    one_by_one = aggregates.Deltas().add_rows(rows, sign=-1).rows()
    assert [(r["topic_id"], r["actor_id"], r["day"], r["count"]) for r in vectorised] == [
        (r["topic_id"], r["actor_id"], r["day"], r["count"]) for r in one_by_one
    ]
    for a, b in zip(vectorised, one_by_one, strict=True):
        assert [a[f] for f in aggregates.SUM_FIELDS] == pytest.approx([b[f] for f in aggregates.SUM_FIELDS])


@pytest.fixture(params=ENGINES)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = create_database(request.param, tmp_path)
    yield url
    drop()


def test_the_migration_backfills_the_aggregate_from_existing_observations(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0005")
    engine = create_engine(fresh_url)
    stamp = datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO actor (slug, name, kind, created_at, updated_at) VALUES ('a', 'A', 'state', :t, :t)"
            ),
            {"t": stamp},
        )
        connection.execute(
            text(
                "INSERT INTO topic (slug, name, description, keywords, examples, created_at, updated_at) "
                "VALUES ('t', 'T', '', '[]', '[]', :t, :t)"
            ),
            {"t": stamp},
        )
        for i, status in enumerate(["auto", "verified", "rejected", "auto", "corrected"]):
            connection.execute(
                text(
                    "INSERT INTO observation (actor_id, topic_id, score, label, confidence, observed_at, "
                    "shift, method, status, created_at, updated_at) "
                    "VALUES (1, 1, :s, 'neutral', 0.5, :at, false, 'manual', :status, :t, :t)"
                ),
                {"s": 0.1 * i, "at": datetime(2025, 3, 1 + i // 2, 23, 59), "status": status, "t": stamp},
            )
    engine.dispose()
    migrate.upgrade(fresh_url)
    engine = make_engine(Settings(database_url=fresh_url))
    with session_scope(make_sessionmaker(engine), write=False) as session:
        assert aggregates.differences(session) == []
        assert aggregates.count_rows(session) == 3
        assert session.scalar(select(func.sum(ObservationDaily.count))) == 4
    engine.dispose()


def test_db_check_reports_differences_and_repairs_them(fresh_url: str, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(DEMO_CORPUS.read_bytes())
    runner = CliRunner()
    url = ["--database-url", fresh_url]
    assert runner.invoke(cli, ["registry", "load", str(STARTER_REGISTRY), *url]).exit_code == 0
    assert runner.invoke(cli, ["ingest", str(feed), *url]).exit_code == 0
    clean = runner.invoke(cli, ["db", "check", *url])
    assert clean.exit_code == 0, clean.output
    assert " 0 differences" in clean.output

    engine = create_engine(fresh_url)
    with engine.begin() as connection:
        first = connection.execute(select(ObservationDaily).limit(2)).all()
        connection.execute(
            update(ObservationDaily)
            .where(ObservationDaily.topic_id == first[0].topic_id)
            .where(ObservationDaily.actor_id == first[0].actor_id)
            .where(ObservationDaily.day == first[0].day)
            .values(count=ObservationDaily.count + 1)
        )
        connection.execute(
            delete(ObservationDaily)
            .where(ObservationDaily.topic_id == first[1].topic_id)
            .where(ObservationDaily.actor_id == first[1].actor_id)
            .where(ObservationDaily.day == first[1].day)
        )
    engine.dispose()
    broken = runner.invoke(cli, ["db", "check", *url])
    assert broken.exit_code == 1
    assert "2 differences (missing 1, extra 0, different 1)" in broken.output
    assert f"count={first[0].count + 1}" in broken.output
    repaired = runner.invoke(cli, ["db", "check", "--repair", *url])
    assert repaired.exit_code == 0, repaired.output
    assert "differences now 0" in repaired.output
    assert runner.invoke(cli, ["db", "check", *url]).exit_code == 0


def test_concurrent_writers_keep_the_aggregate_exact_without_deadlock(fresh_url: str) -> None:
    """Overlapping batches whose articles hit the same (topic, actor, day) keys in different
    orders, plus reviews, from four threads at once; no deadlock, and the aggregate is exact."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    migrate.upgrade(fresh_url)
    settings = Settings(database_url=fresh_url, shift_detection="off")
    rng = random.Random(11)
    with TestClient(create_app(settings), headers=admin_headers(fresh_url)) as client:
        assert (
            client.post("/v1/registry", json=orjson.loads(STARTER_REGISTRY.read_bytes())).status_code == 200
        )
        pool = [random_article(rng, f"https://example.org/race/{i}") for i in range(24)]
        for article in pool:  # every article on the same day: the batches share their keys
            article["published_at"] = "2025-03-26T08:00:00Z"
        batches = [rng.sample(pool, 12) for _ in range(4)]
        start = Barrier(4)

        def write(i: int) -> list[int]:
            start.wait()
            codes = [client.post("/v1/articles/batch", json={"articles": batches[i]}).status_code]
            stances = client.get("/v1/stances", params={"limit": 20}).json()["items"]
            for item in stances[i::4]:
                codes.append(client.patch(f"/v1/stances/{item['id']}", json={"score": -0.1 * i}).status_code)
            return codes

        with ThreadPoolExecutor(max_workers=4) as threads:
            codes = [c for result in threads.map(write, range(4)) for c in result]
    assert set(codes) == {200}, codes
    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine), write=False) as session:
        assert aggregates.count_rows(session) > 0
        assert aggregates.differences(session) == []
    engine.dispose()


@pytest.mark.parametrize(
    "params",
    [
        {"interval": "week"},
        {"interval": "day", "actor": ["europe", "france"], "rollup": "true", "smooth": "ewm"},
        {"interval": "month", "from": "2025-02-03T13:30:00Z", "to": "2025-04-17T06:15:00Z"},
    ],
)
def test_the_timeline_document_is_what_its_response_model_serialises(
    workload: Workload, quick_client: TestClient, params: dict[str, Any]
) -> None:
    """The JSON is written without the response model; it must be exactly what the model writes."""
    response = quick_client.get("/v1/timelines", params={"topic": TOPIC, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert Timeline.model_validate(body).model_dump(mode="json") == body
    points = [p for s in body["series"] for p in s["points"]]
    assert any(p["count"] for p in points)
    assert any(p["score"] is None for p in points)  # empty buckets are explicit
    assert all(p["bucket"].endswith("T00:00:00Z") for p in points)
