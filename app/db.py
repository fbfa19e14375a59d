"""Engine, sessions and the one-transaction-per-request dependency."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Annotated, Any, TypeVar
from weakref import WeakKeyDictionary

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool, run_in_threadpool
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import Settings
from app.errors import StancelineError

T = TypeVar("T")

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
    once (the inline reads' own, see `InlineReads`)."""
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
    engine = create_engine(
        url,
        # a ping per inline read would double its cost; a broken connection is replaced when it fails
        pool_pre_ping=not single_connection,
        pool_timeout=settings.db_statement_timeout_seconds,
        connect_args=_postgres_connect_args(settings),
        **pool,
    )
    if engine.dialect.driver == "psycopg":
        # an inline read is one indexed row: no need to wait longer for it than for a connection
        answer = settings.db_connect_timeout_seconds + (
            0 if single_connection else settings.db_statement_timeout_seconds
        )
        _answer_within(engine, answer)
    return engine


def _postgres_connect_args(settings: Settings) -> dict[str, Any]:
    """libpq's connect timeout, and the statement timeout as a startup option (an `options` the
    URL already carries is kept, after ours, so its own settings win)."""
    ours = f"-c statement_timeout={round(settings.db_statement_timeout_seconds * 1000)}"
    theirs = make_url(settings.database_url).query.get("options")
    if isinstance(theirs, tuple):
        theirs = " ".join(theirs)
    return {
        "connect_timeout": settings.db_connect_timeout_seconds,
        "options": f"{ours} {theirs}" if theirs else ours,
    }


def _answer_within(engine: Engine, seconds: float) -> None:
    """Connections of `engine` give up on a server that has not answered within `seconds`.

    The server's statement timeout cannot end a wait for a server or a network that has stopped
    answering (connection open, no bytes), and TCP keepalives do not either while something on
    the path still acknowledges packets: psycopg would wait forever. Its connections here close
    themselves instead and raise OperationalError, which SQLAlchemy takes for a disconnect (the
    connection is dropped from the pool) and the API answers with 503.
    """
    connection_class = _answering_connection_class()

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        connection = connection_class.connect(*cargs, **cparams)
        connection.answer_timeout = seconds
        return connection


@lru_cache(maxsize=1)
def _answering_connection_class() -> Any:
    import psycopg  # only PostgreSQL needs it
    from psycopg import errors as pg_errors
    from psycopg.abc import PQGen

    class AnsweringConnection(psycopg.Connection[Any]):
        """Each exchange with the server (a statement and its rows, a commit, a ping) ends within
        `answer_timeout` seconds, or the connection is closed."""

        answer_timeout: float | None = None

        def wait(self, gen: PQGen[T], interval: float = 0.1, timeout: float | None = None) -> T:
            if timeout is not None or self.answer_timeout is None:  # a caller's own limit
                return super().wait(gen, interval, timeout)
            try:
                return super().wait(gen, interval, self.answer_timeout)
            except pg_errors._WaitTimeout:
                # mid-exchange: the connection cannot be used again
                self.close()
                raise psycopg.OperationalError(
                    f"the server did not answer within {self.answer_timeout:g} s; connection closed"
                ) from None

    return AnsweringConnection


def make_sessionmaker(engine: Engine, settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions on `engine`; `settings`: what their units of work write with (`session.info`,
    read by what runs before a commit: shift detection's mode, `app.store.unit_of_work.settings_of`)."""
    return sessionmaker(engine, expire_on_commit=False, info={"settings": settings} if settings else None)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit on success, roll back on any error.

    Never on the event loop, where a database that stops answering would stall every request. A
    write begins and ends in the thread pool, since BEGIN IMMEDIATE may wait for SQLite's write
    lock. A read's begin touches no connection (its first query takes one, in the handler's
    thread), so only its end goes there, and only when it has a transaction to end (a cached
    answer never had one).
    """
    write = request.method not in READ_METHODS
    scope = session_scope(request.app.state.sessionmaker, write=write)
    if write:
        async with contextmanager_in_threadpool(scope) as session:
            yield session
        return
    session = scope.__enter__()
    try:
        yield session
    except BaseException as error:
        if not await _end_read(scope, session, error):
            raise
    else:
        await _end_read(scope, session, None)


async def _end_read(
    scope: AbstractContextManager[Session], session: Session, error: BaseException | None
) -> bool | None:
    """`scope.__exit__`, in the thread pool when it talks to the database; carried through even
    when the request is cancelled, so the connection is given back all the same."""
    details = (type(error), error, error.__traceback__) if error is not None else (None, None, None)
    if not session.in_transaction():
        return scope.__exit__(*details)
    handled = None
    with anyio.CancelScope(shield=True):
        handled = await run_in_threadpool(scope.__exit__, *details)
    return handled


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# The short reads a request makes before its handler runs (its API key, the data revision) get a
# session from this: `with reader() as session: ...`, on the `InlineReads` thread (`read_inline`).
InlineReader = Callable[[], AbstractContextManager[Session]]


class DatabaseUnavailable(StancelineError):
    """The database did not answer in time: a stalled server or network, or no free connection."""

    status_code = 503
    code = "database_unavailable"


def make_inline_reader(engine: Engine) -> InlineReader:
    """Inline reads on a connection of their own (`engine` from `make_engine(single_connection=True)`).

    Not the request pool: an API key check that waited for a connection the handlers hold would
    make every request wait behind the slowest handler.
    """
    factory = make_sessionmaker(engine)

    def reader() -> AbstractContextManager[Session]:
        return session_scope(factory, write=False)

    return reader


class InlineReads:
    """One thread for a process's inline reads, each awaited for at most `timeout` seconds.

    The reads are single indexed rows, run one at a time as they were on the event loop, but off
    it: a database that stops answering holds up this thread, never the loop, so /healthz still
    answers and every request waiting for a read gets 503 after `timeout` (a read whose request
    has given up is skipped). The thread is freed when its connection gives up (`make_engine`).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stanceline-inline")

    async def run(self, reader: InlineReader, work: Callable[[Session], T]) -> T:
        def unit() -> T:
            with reader() as session:
                return work(session)

        context = contextvars.copy_context()  # the request id, for what the read logs
        pending = asyncio.get_running_loop().run_in_executor(self._thread, context.run, unit)
        try:
            return await asyncio.wait_for(pending, self.timeout)
        except TimeoutError:
            raise DatabaseUnavailable(f"the database did not answer within {self.timeout:g} s") from None

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


async def read_inline(request: Request, reader: InlineReader, work: Callable[[Session], T]) -> T:
    """`work(session)` on the app's inline-read thread with a session from `reader`."""
    reads: InlineReads = request.app.state.inline_reads
    return await reads.run(reader, work)


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
def session_scope(
    factory: sessionmaker[Session], *, write: bool = True, settings: Settings | None = None
) -> Iterator[Session]:
    """A unit of work (a request, a CLI batch, a job): commit on success, roll back on any error.
    `settings`: what this unit writes with, over the factory's (`make_sessionmaker`).

    A pool that had no connection to give within its timeout raises `DatabaseUnavailable` (503).
    """
    try:
        with (
            factory(**({"info": {"settings": settings}} if settings else {})) as session,
            _writer_turn(factory) if write else nullcontext(),
        ):
            if write:
                session.connection(execution_options=WRITE_OPTIONS)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    except PoolTimeout as error:
        raise DatabaseUnavailable("no database connection came free in time") from error
