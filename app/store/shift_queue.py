from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import ShiftRefresh, utcnow


def enqueue(session: Session, *, pairs: Iterable[tuple[int, int]]) -> None:
    """Queue (topic_id, actor_id) series for a refresh; a series already queued stays queued once."""
    rows = [{"topic_id": t, "actor_id": a, "queued_at": utcnow()} for t, a in sorted(set(pairs))]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ShiftRefresh).values(rows).on_conflict_do_nothing())


def claim(
    session: Session, *, limit: int = 500, queued_before: datetime | None = None
) -> list[tuple[int, int]]:
    """Take queued series off the queue (the caller's transaction refreshes them or puts them back);
    with `queued_before`, only series first queued before then.

    On PostgreSQL rows another worker holds are skipped, so workers never refresh a series twice at once.
    """
    stmt = select(ShiftRefresh.topic_id, ShiftRefresh.actor_id).order_by(ShiftRefresh.queued_at).limit(limit)
    if queued_before is not None:
        stmt = stmt.where(ShiftRefresh.queued_at < queued_before)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    pairs = [(topic_id, actor_id) for topic_id, actor_id in session.execute(stmt)]
    if pairs:
        session.execute(
            delete(ShiftRefresh)
            .where(tuple_(ShiftRefresh.topic_id, ShiftRefresh.actor_id).in_(pairs))
            .execution_options(synchronize_session=False)
        )
    return pairs


def count_queued(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ShiftRefresh)) or 0)
