"""Engine, sessions and the one-transaction-per-request dependency."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
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


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_engine(url, pool_size=settings.db_pool_size, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on any error."""
    with session_scope(request.app.state.sessionmaker, write=request.method not in READ_METHODS) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """A unit of work (a request, a CLI batch, a job): commit on success, roll back on any error."""
    with factory() as session:
        if write:
            session.connection(execution_options=WRITE_OPTIONS)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
