"""On SQLite, a process's writers take turns on a lock of their own before SQLite's: a writer
waiting behind back-to-back transactions of another thread gets in at the next gap instead of
sleeping past every gap in SQLite's busy handler until its timeout."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.ops import migrate


def test_a_writer_gets_its_turn_between_another_threads_back_to_back_transactions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    migrate.upgrade(url)
    engine = make_engine(Settings(database_url=url, sqlite_busy_timeout_ms=3000))
    factory = make_sessionmaker(engine)
    stop = threading.Event()

    def busy_writer() -> None:  # 0.5 s transactions, 1 ms apart (a batch after a batch), up to 10 s
        deadline = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < deadline:
            with session_scope(factory) as session:
                session.execute(text("UPDATE data_revision SET revision = revision + 1"))
                time.sleep(0.5)
            time.sleep(0.001)

    other = threading.Thread(target=busy_writer)
    other.start()
    try:
        time.sleep(0.1)
        for _ in range(2):  # each must get in within the 3 s timeout, not fail with "database is locked"
            with session_scope(factory) as session:
                session.execute(text("UPDATE registry_revision SET revision = revision + 1"))
    finally:
        stop.set()
        other.join()
        engine.dispose()
