"""What follows from a write's observations, recorded as they change and applied once per commit.

Every store function that adds, removes or re-counts observations records on the session the
aggregate deltas it causes (`record`) and the series, (topic_id, actor_id), it touches (`touch`).
One hook runs just before the unit of work's outermost commit: it applies all the deltas as one
sorted upsert, then hands the touched series to the handlers registered for them
(`on_series_changed`: shift detection, `app.shifts`). So no write path can forget either or do
it twice, and concurrent writers lock aggregate rows in one (key) order and cannot deadlock.

A savepoint that rolls back must take its changes with it: writes that may roll back part of a
unit of work open their savepoint with `savepoint`, not `session.begin_nested()`. Code that reads
the aggregates in the unit of work that changed them applies what is pending first
(`apply_pending`); nothing in the service does (it reads the aggregates in read transactions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.store import aggregates

_PENDING = "stanceline.pending_deltas"
_TOUCHED = "stanceline.touched_series"
Pair = tuple[int, int]  # (topic_id, actor_id)
SeriesHandler = Callable[[Session, frozenset[Pair]], None]
_handlers: list[SeriesHandler] = []


def touch(session: Session, pairs: Iterable[Pair]) -> None:
    """These series changed: their handlers hear of them when this unit of work commits."""
    touched: set[Pair] = session.info.setdefault(_TOUCHED, set())
    touched.update(pairs)


def on_series_changed(handler: SeriesHandler) -> SeriesHandler:
    """Register `handler(session, series)`, run before each commit that touched series."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def record(session: Session, deltas: aggregates.Deltas) -> None:
    """Count `deltas` into the aggregates when this unit of work commits."""
    if deltas:
        pending: aggregates.Deltas = session.info.setdefault(_PENDING, aggregates.Deltas())
        pending.merge(deltas)


def apply_pending(session: Session) -> int:
    """Apply the deltas recorded so far (one sorted upsert); returns the daily rows changed."""
    pending: aggregates.Deltas | None = session.info.pop(_PENDING, None)
    return aggregates.apply(session, pending) if pending else 0


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """`session.begin_nested()`, whose deltas and series are forgotten when it rolls back. What
    it records is kept apart and added to the unit's only when it commits: a batch's thousand
    savepoints cost what their own items record, never a copy of everything before them."""
    outer_deltas: aggregates.Deltas | None = session.info.pop(_PENDING, None)
    outer_touched: set[Pair] | None = session.info.pop(_TOUCHED, None)
    committed = False
    try:
        with session.begin_nested():
            yield
        committed = True
    finally:
        inner_deltas: aggregates.Deltas | None = session.info.pop(_PENDING, None)
        inner_touched: set[Pair] | None = session.info.pop(_TOUCHED, None)
        if outer_deltas is not None:
            session.info[_PENDING] = outer_deltas
        if outer_touched is not None:
            session.info[_TOUCHED] = outer_touched
        if committed:
            if inner_deltas:
                record(session, inner_deltas)
            if inner_touched:
                touch(session, inner_touched)


def _apply_before_commit(session: Session) -> None:
    # savepoints commit too; the outermost commit is the unit of work's
    if session.in_nested_transaction():
        return
    apply_pending(session)
    touched: set[Pair] | None = session.info.pop(_TOUCHED, None)
    if touched:
        for handler in _handlers:
            handler(session, frozenset(touched))


# first among the before-commit hooks: the data revision's bump (data_state) must see the upserts
event.listen(Session, "before_commit", _apply_before_commit, insert=True)


@event.listens_for(Session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rollback of the whole unit of work: nothing to apply
        session.info.pop(_PENDING, None)
        session.info.pop(_TOUCHED, None)
