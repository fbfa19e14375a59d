"""The Alembic history builds the schema the models describe, on every engine, both ways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from app.db import Base
from app.ops import migrate
from tests.conftest import ENGINES, create_database


@pytest.fixture(params=ENGINES)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = create_database(request.param, tmp_path)
    yield url
    drop()


def test_history_has_a_single_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_migrated_schema_matches_the_models(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        engine.dispose()


def _seed_actor(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO actor (slug, name, kind, created_at, updated_at) VALUES (:s, :n, 'state', :t, :t)"
            ),
            {"s": "france", "n": "France", "t": datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
        )
    engine.dispose()


def test_downgrade_to_base_and_back(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    _seed_actor(fresh_url)
    migrate.downgrade(fresh_url, "base")
    engine = create_engine(fresh_url)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
    migrate.upgrade(fresh_url)
    _seed_actor(fresh_url)
    engine = create_engine(fresh_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM actor")).scalar_one() == 1
    engine.dispose()


def test_topics_from_before_0009_get_empty_relevance_fields(fresh_url: str) -> None:
    """0009 adds weak_keywords, excluded_phrases and relevance_threshold to stored topics, and takes
    them away again on the way down, keeping the topics."""
    migrate.upgrade(fresh_url, "0008")
    engine = create_engine(fresh_url)
    stamp = datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO topic (slug, name, description, keywords, examples, created_at, updated_at) "
                "VALUES ('urban-beekeeping', 'Rooftop beehives', '', '[\"beehive\"]', '[]', :t, :t)"
            ),
            {"t": stamp},
        )
    engine.dispose()
    topic = Base.metadata.tables["topic"]
    columns = (topic.c.keywords, topic.c.weak_keywords, topic.c.excluded_phrases, topic.c.relevance_threshold)

    migrate.upgrade(fresh_url)
    engine = create_engine(fresh_url)
    with engine.connect() as connection:
        assert connection.execute(select(*columns)).one() == (["beehive"], [], [], None)
    engine.dispose()

    migrate.downgrade(fresh_url, "0008")
    engine = create_engine(fresh_url)
    names = {c["name"] for c in inspect(engine).get_columns("topic")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT slug FROM topic")).scalars().all() == ["urban-beekeeping"]
    engine.dispose()
    assert not names & {"weak_keywords", "excluded_phrases", "relevance_threshold"}
    migrate.upgrade(fresh_url)


def test_shifts_from_before_0010_are_statistical_with_no_reasons(fresh_url: str) -> None:
    """0010 adds basis, reasons and office_change to stored shifts (basis 'statistical', no reasons,
    no office change), and takes them away again on the way down, keeping the shifts."""
    migrate.upgrade(fresh_url, "0009")
    _seed_actor(fresh_url)
    engine = create_engine(fresh_url)
    stamp = datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO topic (slug, name, description, keywords, examples, weak_keywords, "
                "excluded_phrases, created_at, updated_at) "
                "VALUES ('urban-beekeeping', 'Rooftop beehives', '', '[]', '[]', '[]', '[]', :t, :t)"
            ),
            {"t": stamp},
        )
        connection.execute(
            text(
                "INSERT INTO shift (topic_id, actor_id, direction, at, window_start, window_end, before, "
                "after, delta, confidence, evidence_before, evidence_after, cue_ids, status, "
                "first_detected_at, updated_at) SELECT topic.id, actor.id, 'toward_oppose', :t, :t, :t, "
                "0.5, -0.5, -1.0, 0.99, '[]', '[]', '[]', 'active', :t, :t FROM topic, actor"
            ),
            {"t": stamp},
        )
    engine.dispose()
    shift = Base.metadata.tables["shift"]
    columns = (shift.c.confidence, shift.c.basis, shift.c.reasons, shift.c.office_change)

    migrate.upgrade(fresh_url)
    engine = create_engine(fresh_url)
    with engine.connect() as connection:
        assert connection.execute(select(*columns)).one() == (0.99, "statistical", [], None)
    engine.dispose()

    migrate.downgrade(fresh_url, "0009")
    engine = create_engine(fresh_url)
    names = {c["name"] for c in inspect(engine).get_columns("shift")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM shift")).scalar_one() == 1
    engine.dispose()
    assert not names & {"basis", "reasons", "office_change"}
    migrate.upgrade(fresh_url)


def _add_observation(url: str, status: str, score: float = 0.5) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO observation (actor_id, topic_id, score, label, confidence, observed_at, "
                    "shift, method, status, created_at, updated_at) SELECT actor.id, topic.id, :score, "
                    "'support', 0.7, :t, false, 'llm', :status, :t, :t FROM actor, topic"
                ),
                {
                    "score": score,
                    "status": status,
                    "t": datetime(2025, 3, 4, tzinfo=UTC).replace(tzinfo=None),
                },
            )
    finally:
        engine.dispose()


def _statuses(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT status FROM observation ORDER BY id")).scalars().all()
    engine.dispose()
    return list(found)


def test_0014_admits_suggested_observations_and_keeps_the_other_checks(fresh_url: str) -> None:
    """0014 widens the status CHECK to `suggested` (SQLite: by rebuilding the table, which must keep
    its other checks); on the way down the suggestions go, the other observations stay."""
    migrate.upgrade(fresh_url, "0013")
    _seed_actor(fresh_url)
    engine = create_engine(fresh_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO topic (slug, name, description, keywords, examples, weak_keywords, "
                "excluded_phrases, created_at, updated_at) "
                "VALUES ('ferry-subsidy', 'Island ferry subsidy', '', '[]', '[]', '[]', '[]', :t, :t)"
            ),
            {"t": datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
        )
    engine.dispose()
    _add_observation(fresh_url, "auto")
    with pytest.raises(IntegrityError):
        _add_observation(fresh_url, "suggested")

    migrate.upgrade(fresh_url)
    _add_observation(fresh_url, "suggested")
    assert _statuses(fresh_url) == ["auto", "suggested"]
    for status, score in (("pending", 0.5), ("suggested", 1.5)):  # the status and score checks hold
        with pytest.raises(IntegrityError):
            _add_observation(fresh_url, status, score)

    migrate.downgrade(fresh_url, "0013")
    assert _statuses(fresh_url) == ["auto"]
    with pytest.raises(IntegrityError):
        _add_observation(fresh_url, "suggested")
    migrate.upgrade(fresh_url)
