"""Deferred shift detection waits for a queued series to settle, so a burst of writes refreshes it
once; a command that ends drains the queue whatever the wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import ShiftRefresh, utcnow
from app.shifts import refresh as shifts
from app.store import shift_queue
from tests.factories import make_actor, make_article, make_topic


@pytest.fixture
def series(session: Session) -> list[tuple[int, int]]:
    topic = make_topic(session, "settle-topic")
    actors = [make_actor(session, f"settle-{i}") for i in range(3)]
    return [(topic.id, actor.id) for actor in actors]


def test_a_series_waits_until_it_has_settled(session: Session, series: list[tuple[int, int]]) -> None:
    settings = Settings(shift_settle_seconds=60)
    shift_queue.enqueue(session, pairs=series)
    shift_queue.enqueue(session, pairs=series)  # queued twice: still one row each
    assert shift_queue.count_queued(session) == 3
    assert shifts.process_queue(session, settings=settings) == 0
    # the first series was queued long enough ago; the others were just queued
    session.execute(
        update(ShiftRefresh)
        .where(ShiftRefresh.actor_id == series[0][1])
        .values(queued_at=utcnow() - timedelta(seconds=61))
    )
    assert shift_queue.claim(session, queued_before=utcnow() - timedelta(seconds=60)) == [series[0]]
    assert shift_queue.count_queued(session) == 2


def test_without_settling_every_queued_series_is_refreshed(
    session: Session, series: list[tuple[int, int]]
) -> None:
    shift_queue.enqueue(session, pairs=series)
    assert shifts.process_queue(session, settings=Settings(shift_settle_seconds=60), settle=False) == 3
    assert shift_queue.count_queued(session) == 0
    shift_queue.enqueue(session, pairs=series)
    assert shifts.process_queue(session, settings=Settings(shift_settle_seconds=0)) == 3


def test_while_articles_wait_for_extraction_series_settle_longer(
    session: Session, series: list[tuple[int, int]]
) -> None:
    settings = Settings(shift_settle_seconds=3, shift_settle_backlog_seconds=60)
    shift_queue.enqueue(session, pairs=series)
    session.execute(update(ShiftRefresh).values(queued_at=utcnow() - timedelta(seconds=10)))
    waiting = make_article(session).article
    waiting.extraction_state = "pending"
    session.flush()
    assert shifts.process_queue(session, settings=settings) == 0  # a backlog: 60 s, not 3
    waiting.extraction_state = "done"
    session.flush()
    assert shifts.process_queue(session, settings=settings) == 3
