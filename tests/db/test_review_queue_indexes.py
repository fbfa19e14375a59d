"""The review queue's two partial indexes (migration 0016) exist after `upgrade head` on both
engines, hold exactly the unreviewed statuses the queue lists, and serve the queue's own
statements: an index range read in queue order, with no sort of the rows.

Alembic cannot reflect expression indexes on SQLite, so the drift test does not see them there,
and it compares no index predicates anywhere: this is the test that does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.models import UNREVIEWED_STATUSES
from app.store import review_queue as queue_store
from tests.factories import make_actor, make_observation, make_topic

INDEXES = ("ix_observation_review_queue", "ix_observation_review_queue_topic")


def _definitions(session: Session) -> dict[str, str]:
    if session.get_bind().dialect.name == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_observation_review%'"
        )
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_observation_review%'"
    return {str(name): str(definition) for name, definition in session.execute(text(query))}


def test_both_indexes_exist_over_exactly_the_unreviewed_statuses(session: Session) -> None:
    definitions = _definitions(session)
    assert sorted(definitions) == sorted(INDEXES)
    for definition in definitions.values():
        predicate = definition.split("WHERE", 1)[1]
        # every status the queue lists, and no other
        named = {
            status
            for status in ("auto", "verified", "corrected", "rejected", "suggested")
            if status in predicate
        }
        assert named == set(UNREVIEWED_STATUSES), definition
        assert "abs(" in definition


@contextmanager
def _statements(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """The SQL (and parameters) the session runs meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _plan(session: Session, statement: str, parameters: Any) -> str:
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(str(row[3]) for row in rows)
    # a handful of rows: the planner would rather sort them; make a sort cost what it does on a
    # large table, so the plan shows whether an index can give the order at all
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({}, "ix_observation_review_queue"),
        ({"after": True}, "ix_observation_review_queue"),
        ({"topics": 1}, "ix_observation_review_queue_topic"),
        ({"topics": 1, "after": True}, "ix_observation_review_queue_topic"),
        ({"topics": 2}, "ix_observation_review_queue_topic"),
    ],
)
def test_the_queue_reads_its_index_in_order_without_sorting_the_rows(
    session: Session, query: dict[str, Any], index: str
) -> None:
    topics = [make_topic(session, slug) for slug in ("breakwater-repairs", "tidal-mill")]
    actor = make_actor(session, "port-wardens", kind="organization")
    for n in range(12):
        make_observation(
            session,
            actor=actor,
            topic=topics[n % 2],
            confidence=n / 11,
            observed_at=datetime(2025, 11, 1 + n, tzinfo=UTC),
            method="rules",
            status="auto",
        )
    topic_ids = [t.id for t in topics[: query.get("topics", 0)]]
    after = (0.5, datetime(2025, 11, 5, tzinfo=UTC), 1) if query.get("after") else None

    with _statements(session) as seen:
        rows = queue_store.list_review_queue(session, topic_ids=topic_ids, after=after, limit=5)
    assert rows
    [(statement, parameters)] = [(s, p) for s, p in seen if "abs(" in s]
    plan = _plan(session, statement, parameters)

    assert index in plan, plan
    if session.get_bind().dialect.name == "sqlite":
        # a merge of several topics sorts only the few rows each topic's range gave
        assert ("TEMP B-TREE" in plan) == (len(topic_ids) > 1), plan
        assert "SCAN observation\n" not in plan + "\n", plan
        # a cursor is where the index read starts, not a filter on the rows read from the top
        assert ("<expr><?" in plan) == (after is not None), plan
    else:
        if len(topic_ids) <= 1:
            assert "Sort" not in plan, plan
        starts_at_key = any("Index Cond" in line and "<=" in line for line in plan.splitlines())
        assert starts_at_key == (after is not None), plan
