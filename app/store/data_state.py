"""The data revision: one counter that every commit changing timeline data bumps.

Timelines are functions of the aggregates and the registry. A process may keep a finished read
as long as neither `data_revision` nor `registry_revision` has moved since it was computed
(`app.api.read_cache`). Writers mark their session (`mark_changed`); the bump itself runs as the
last statement before the outermost commit, so on PostgreSQL the counter's row lock is held only
for the commit itself and never while the writer waits for another lock (no deadlock, little
contention between concurrent writers).
"""

from __future__ import annotations

from sqlalchemy import event, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from app.models import DataRevision, utcnow

_CHANGED = "stanceline.data_changed"


def mark_changed(session: Session) -> None:
    """This unit of work changes what timelines read: bump the data revision when it commits."""
    session.info[_CHANGED] = True


def bump(connection: Connection | Session) -> None:
    connection.execute(
        update(DataRevision)
        .where(DataRevision.id == 1)
        .values(revision=DataRevision.revision + 1, updated_at=utcnow())
    )


# plain SQL on purpose: it runs on every cached read, where compiling a Core select would cost more
# than the query
_REVISIONS = (
    "SELECT (SELECT revision FROM registry_revision WHERE id = 1), "
    "(SELECT revision FROM data_revision WHERE id = 1)"
)


def current(connection: Connection | Session) -> tuple[int, int]:
    """(registry revision, data revision), read together."""
    if isinstance(connection, Session):
        connection = connection.connection()
    registry, data = connection.exec_driver_sql(_REVISIONS).one()
    return int(registry or 0), int(data or 0)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    # savepoints commit too; only the outermost commit makes the change visible to others
    if session.in_nested_transaction() or not session.info.pop(_CHANGED, False):
        return
    bump(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: SessionTransaction) -> None:
    # a rolled-back savepoint keeps the mark (an extra bump costs a cache miss, a lost one a stale read)
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
