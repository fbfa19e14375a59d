"""The data revision: one counter that every commit changing what the cached reads show bumps.

The cached reads (`app.api.read_cache`) are functions of the registry and of the data: the
aggregates (timelines, compare), the observations themselves (stances, network, the evidence of
shifts), the recorded shifts, and the titles and addresses of the articles shifts cite. A process
may keep a finished read as long as neither `data_revision` nor `registry_revision` has moved
since it was computed. Registry writes bump the registry revision themselves
(`app.store.registry_state`). Every other write marks its session (`mark_changed`): the
aggregates when they change (`app.store.aggregates.apply`, run by `unit_of_work` before the
commit), the observation store's bulk inserts
and deletes, and, for what goes through the ORM (reviews, manual coding, reviews carried over to
an article's revision, the shift refresh, an article's new title), any flush that adds, changes
or deletes such a row (`_mark_flush`). The bump itself runs as the last statement before the
outermost commit, so on PostgreSQL the counter's row lock is held only for the commit itself and
never while the writer waits for another lock (no deadlock, little contention between concurrent
writers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from app.models import Article, DataRevision, Observation, Shift, utcnow

_CHANGED = "stanceline.data_changed"
# rows a cached read shows whatever column changes: observations (stances, network, shift evidence)
# and shifts
_SHOWN = (Observation, Shift)
# an article is shown only as the title and address of a shift's evidence
_ARTICLE_SHOWN = ("title", "url")


def mark_changed(session: Session) -> None:
    """This unit of work changes what the cached reads show: bump the data revision when it commits."""
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


def _shown(session: Session) -> bool:
    """Whether the session's pending ORM changes touch a row a cached read shows."""
    if any(isinstance(o, _SHOWN) for o in session.new):
        return True
    if any(isinstance(o, (*_SHOWN, Article)) for o in session.deleted):
        return True
    for o in session.dirty:
        if isinstance(o, _SHOWN) and session.is_modified(o):
            return True
        if isinstance(o, Article):
            attrs = inspect(o).attrs
            if any(attrs[name].history.has_changes() for name in _ARTICLE_SHOWN):
                return True
    return False


@event.listens_for(Session, "before_flush")
def _mark_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    if not session.info.get(_CHANGED) and _shown(session):
        mark_changed(session)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    # savepoints commit too; only the outermost commit makes the change visible to others
    if session.in_nested_transaction():
        return
    if not session.info.get(_CHANGED):
        # what the commit would flush next (a no-op when nothing is pending), flushed before the
        # bump so that `_mark_flush` sees it and the bump stays the last statement
        session.flush()
    if session.info.pop(_CHANGED, False):
        bump(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: SessionTransaction) -> None:
    # a rolled-back savepoint keeps the mark (an extra bump costs a cache miss, a lost one a stale read)
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
