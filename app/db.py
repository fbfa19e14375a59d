"""Engine, sessions and the one-transaction-per-request dependency."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


WRITE_OPTIONS = {"sqlite_begin": "IMMEDIATE"}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, and SQLAlchemy's pysqlite recipe so SAVEPOINT and BEGIN behave.

    pysqlite otherwise starts transactions lazily on its own, which breaks nested
    transactions (batch ingest isolates each article in a SAVEPOINT). Units of work
    that write begin IMMEDIATE: a deferred transaction that has read and then wants
    to write fails at once with SQLITE_BUSY when another writer got there first,
    whereas IMMEDIATE takes the write lock up front and waits on the busy timeout.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".rstrip())


def make_engine(settings: Settings, *, single_connection: bool = False) -> Engine:
    """The engine of a process; `single_connection`: one connection, never checked out twice at
    once (the event loop's own, see `make_inline_reader`)."""
    url = settings.database_url
    pool: dict[str, Any] = (
        {"pool_size": 1, "max_overflow": 0} if single_connection else {"pool_size": settings.db_pool_size}
    )
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
            **pool,
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        if not single_connection:
            _writer_turns[engine] = (threading.Lock(), settings.sqlite_busy_timeout_ms / 1000)
        return engine
    # a ping per inline read would double its cost; a broken connection is replaced when it fails
    return create_engine(url, pool_pre_ping=not single_connection, **pool)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit on success, roll back on any error.

    A read opens and ends its transaction on the event loop: a read-only transaction never waits
    for a lock, and the trip to the thread pool would cost more than the work. A write does both
    in the thread pool, since BEGIN IMMEDIATE may wait for SQLite's write lock.
    """
    write = request.method not in READ_METHODS
    scope = session_scope(request.app.state.sessionmaker, write=write)
    if not write:
        with scope as session:
            yield session
        return
    async with contextmanager_in_threadpool(scope) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# Reads short enough to run on the event loop itself (an API key, the data revision) get a
# session from this: `with reader() as session: ...`, never held across an `await`.
InlineReader = Callable[[], AbstractContextManager[Session]]


def make_inline_reader(engine: Engine) -> InlineReader:
    """Inline reads on a connection of their own (`engine` from `make_engine(single_connection=True)`).

    Not the request pool: its connections are given back by code that runs on the same event
    loop, so a loop that waited for one of them would wait for itself.
    """
    factory = make_sessionmaker(engine)

    def reader() -> AbstractContextManager[Session]:
        return session_scope(factory, write=False)

    return reader


async def get_inline_reader(request: Request) -> InlineReader:
    reader: InlineReader = request.app.state.inline_reader
    return reader


InlineReaderDep = Annotated[InlineReader, Depends(get_inline_reader)]


# SQLite engines -> (this process's writer lock, how long to wait for it)
_writer_turns: WeakKeyDictionary[Engine, tuple[threading.Lock, float]] = WeakKeyDictionary()


@contextmanager
def _writer_turn(factory: sessionmaker[Session]) -> Iterator[None]:
    """On SQLite, a process's writers take turns on a lock before asking SQLite for its own.

    SQLite's busy handler sleeps and retries, so a writer waiting in it keeps missing the moments
    the lock is free while another thread of the same process takes it straight back (the
    background worker gave up after the whole busy timeout behind back-to-back batches); a lock
    wakes the next waiter as soon as it is released. Writers of other processes still meet at
    SQLite's lock. Released by whichever thread ends the unit of work (FastAPI may end it on
    another thread than the one that began it), hence a plain Lock.
    """
    bind = factory.kw.get("bind")
    turn = _writer_turns.get(bind) if isinstance(bind, Engine) else None
    if turn is None:
        yield
        return
    lock, timeout = turn
    # past the timeout, go on to SQLite's own wait rather than fail here
    acquired = lock.acquire(timeout=timeout)
    try:
        yield
    finally:
        if acquired:
            lock.release()


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """A unit of work (a request, a CLI batch, a job): commit on success, roll back on any error."""
    with factory() as session, _writer_turn(factory) if write else nullcontext():
        if write:
            session.connection(execution_options=WRITE_OPTIONS)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
