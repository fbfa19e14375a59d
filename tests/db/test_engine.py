from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine
from app.models import Observation
from tests.factories import make_actor, make_observation, make_topic


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'wal.db'}"))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    engine.dispose()


def test_datetimes_come_back_as_the_same_utc_instant(session: Session) -> None:
    paris = timezone(timedelta(hours=1))
    observation = make_observation(
        session,
        actor=make_actor(session, "france"),
        topic=make_topic(session, "ground-troops-ukraine"),
        observed_at=datetime(2025, 3, 26, 0, 30, tzinfo=paris),
    )
    session.expire_all()
    stored = session.get(Observation, observation.id)
    assert stored is not None
    assert stored.observed_at == datetime(2025, 3, 25, 23, 30, tzinfo=UTC)
    assert stored.observed_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session: Session) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        make_observation(
            session,
            actor=make_actor(session, "france"),
            topic=make_topic(session, "t"),
            observed_at=datetime(2025, 3, 26),
        )


def test_database_enforces_score_range_and_foreign_keys(session: Session) -> None:
    actor, topic = make_actor(session, "france"), make_topic(session, "t")
    with pytest.raises(IntegrityError, match=r"(?i)check|constraint"), session.begin_nested():
        make_observation(session, actor=actor, topic=topic, score=1.5)
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"), session.begin_nested():
        session.execute(
            text(
                "INSERT INTO observation (actor_id, topic_id, score, label, confidence, observed_at, shift,"
                " method, status, created_at, updated_at) VALUES (999999, :t, 0, 'neutral', 1, :d, false,"
                " 'manual', 'auto', :d, :d)"
            ),
            {"t": topic.id, "d": datetime(2025, 1, 1)},
        )


def test_hot_path_index_exists(engine: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("observation")}
    assert indexes["ix_observation_topic_actor_observed"] == ["topic_id", "actor_id", "observed_at"]
