"""What a write changes beyond its own rows, recorded as it happens and settled once per commit.

**Aggregates and series.** Every store function that adds, removes or re-counts observations
records on the session the aggregate deltas it causes (`record`) and the series, (topic_id,
actor_id), it touches (`touch`). Just before the unit of work's outermost commit one hook applies
all the deltas as one sorted upsert, then settles the touched series as the unit's settings say
(`settings_of`): with `shift_detection=deferred` it queues them for the shift worker
(`store.shift_queue`), with `sync` it hands them to the handlers registered for them
(`on_series_changed`: `app.shifts.refresh` detects their shifts now). So no write path can forget
either or do it twice, and concurrent writers lock aggregate rows in one (key) order and cannot
deadlock. A savepoint that rolls back must take its changes with it: writes that may roll back
part of a unit of work open their savepoint with `savepoint`, not `session.begin_nested()`. Code
that reads the aggregates in the unit of work that changed them applies what is pending first
(`apply_pending`); nothing in the service does (it reads them in read transactions).

**Revisions.** The cached reads (`app.api.read_cache`) are functions of the registry and of the
data: the aggregates (timelines, compare), the observations themselves (stances, network, the
evidence of shifts), the recorded shifts, and the titles and addresses of the articles shifts
cite. A process may keep a finished read as long as neither revision has moved since it was
computed (`current`). Registry writes take the registry's lock and bump its revision themselves
(`lock_registry`, `bump_registry_revision`). Every other write marks its session (`mark_changed`):
applied aggregate deltas, the observation store's bulk inserts and deletes, and, for what goes
through the ORM (reviews, manual coding, reviews carried over to an article's revision, the shift
refresh, an article's new title), any flush that adds, changes or deletes such a row
(`_mark_flush`). The data revision's bump runs as the last statement before the outermost commit,
so on PostgreSQL the counter's row lock is held only for the commit itself and never while the
writer waits for another lock (no deadlock, little contention between concurrent writers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from app.config import Settings, get_settings
from app.models import Article, DataRevision, Observation, RegistryRevision, Shift, utcnow
from app.store import aggregates, shift_queue

_PENDING = "stanceline.pending_deltas"
_TOUCHED = "stanceline.touched_series"
_CHANGED = "stanceline.data_changed"
Pair = tuple[int, int]  # (topic_id, actor_id)
SeriesHandler = Callable[[Session, frozenset[Pair]], None]
_handlers: list[SeriesHandler] = []
# rows a cached read shows whatever column changes: observations (stances, network, shift evidence)
# and shifts
_SHOWN = (Observation, Shift)
# an article is shown only as the title and address of a shift's evidence
_ARTICLE_SHOWN = ("title", "url")


def touch(session: Session, pairs: Iterable[Pair]) -> None:
    """These series changed: their handlers hear of them when this unit of work commits."""
    touched: set[Pair] = session.info.setdefault(_TOUCHED, set())
    touched.update(pairs)


def on_series_changed(handler: SeriesHandler) -> SeriesHandler:
    """Register `handler(session, series)`, run before each commit that touched series when shift
    detection is `sync`."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def settings_of(session: Session) -> Settings:
    """The settings a unit of work writes with: its session factory's (`db.make_sessionmaker`),
    or `db.session_scope`'s for one unit (background writers queue, never refresh per article),
    else the process's."""
    settings = session.info.get("settings")
    return settings if isinstance(settings, Settings) else get_settings()


def _settle_series(session: Session, touched: frozenset[Pair]) -> None:
    mode = settings_of(session).shift_detection
    if mode == "deferred":
        shift_queue.enqueue(session, pairs=touched)
    elif mode == "sync":
        for handler in _handlers:
            handler(session, touched)


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


def rebuild_aggregates(session: Session) -> int:
    """Replace both aggregates by their recomputation (`stanceline db check --repair`); returns the
    daily rows written."""
    mark_changed(session)
    return aggregates.rebuild(session)


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


def get_registry_revision(session: Session) -> int:
    return int(session.scalar(select(RegistryRevision.revision).where(RegistryRevision.id == 1)) or 0)


def lock_registry(session: Session) -> None:
    """Take the registry's write lock (its revision row, FOR UPDATE) until the transaction ends.

    Registry writes read what is stored (an actor's lists, the slugs an import upserts, the topic
    tree) and then write: holding this first makes them take turns, so each one reads what the
    previous one committed. On SQLite, where writers already take turns, it is a plain read.
    """
    session.execute(select(RegistryRevision.id).where(RegistryRevision.id == 1).with_for_update())


def bump_registry_revision(session: Session) -> None:
    """Mark the registry changed; runs in the writer's transaction, so readers see it with the change."""
    session.execute(
        update(RegistryRevision)
        .where(RegistryRevision.id == 1)
        .values(revision=RegistryRevision.revision + 1, updated_at=utcnow())
    )


@event.listens_for(Session, "before_commit")
def _settle_before_commit(session: Session) -> None:
    # savepoints commit too; only the outermost commit makes the change visible to others
    if session.in_nested_transaction():
        return
    if apply_pending(session):
        mark_changed(session)
    touched: set[Pair] | None = session.info.pop(_TOUCHED, None)
    if touched:
        _settle_series(session, frozenset(touched))
    if not session.info.get(_CHANGED):
        # what the commit would flush next (a no-op when nothing is pending), flushed before the
        # bump so that `_mark_flush` sees it and the bump stays the last statement
        session.flush()
    if session.info.pop(_CHANGED, False):
        bump(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_when_done(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole unit of work ended: a rollback has nothing to apply
        session.info.pop(_PENDING, None)
        session.info.pop(_TOUCHED, None)
        session.info.pop(_CHANGED, None)
    # a rolled-back savepoint keeps the data mark (an extra bump costs a cache miss, a lost one a
    # stale read)
