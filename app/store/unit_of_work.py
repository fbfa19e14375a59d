"""The daily aggregates follow the observations: changes recorded as they happen, applied once per commit.

Every store function that adds, removes or re-counts observations records the aggregate deltas it
causes on the session (`record`). One hook applies all of a unit of work's deltas just before its
outermost commit, as one sorted upsert: so no write path can forget them or apply them twice,
and concurrent writers lock aggregate rows in one (key) order and cannot deadlock on them.

A savepoint that rolls back must take its deltas with it: writes that may roll back part of a
unit of work open their savepoint with `savepoint`, not `session.begin_nested()`. Code that reads
the aggregates in the unit of work that changed them applies what is pending first
(`apply_pending`); nothing in the service does (it reads the aggregates in read transactions).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.store import aggregates

_PENDING = "stanceline.pending_deltas"


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
    """`session.begin_nested()`, whose deltas are forgotten when it rolls back."""
    before = aggregates.Deltas().merge(session.info.get(_PENDING, aggregates.Deltas()))
    try:
        with session.begin_nested():
            yield
    except BaseException:
        session.info[_PENDING] = before
        raise


def _apply_before_commit(session: Session) -> None:
    # savepoints commit too; the outermost commit is the unit of work's
    if not session.in_nested_transaction():
        apply_pending(session)


# first among the before-commit hooks: the data revision's bump (data_state) must see the upserts
event.listen(Session, "before_commit", _apply_before_commit, insert=True)


@event.listens_for(Session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rollback of the whole unit of work: nothing to apply
        session.info.pop(_PENDING, None)
