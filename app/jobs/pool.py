"""The local extraction workers: processes of this machine that drain the extraction queue.

The embedded default (no STANCELINE_BROKER_URL). Each API process supervises
`extraction_workers` processes, started the first time it sees pending articles (an ingest it
answered, or a look at the queue every few seconds: a backlog left by a crash or by another
process). A worker that dies (killed, out of memory) is started again; the articles it had
claimed wait out their lease and are taken again (app.jobs.extraction says why none is extracted
twice). Processes, not threads: extraction is CPU work, and a process per core runs in parallel.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import DatabaseUnavailable, session_scope
from app.store import extraction_queue as queue_store

logger = logging.getLogger(__name__)

LOOK_SECONDS = 3.0  # how often the supervisor looks at the queue while no worker runs
CHECK_SECONDS = 1.0  # how often it checks that its workers are alive
MAX_IDLE_BACKOFF_SECONDS = 30.0


def run_worker(settings: Settings, wake: ProcessEvent, stop: ProcessEvent) -> None:
    """A worker process's life: drain the queue, wait for a wake-up or the next poll, again, until
    told to stop or its parent is gone. A failing database makes it wait longer between tries
    (doubling, up to 30 s) rather than exit."""
    from app.db import make_engine, make_sessionmaker
    from app.ingest import RegistryCache
    from app.jobs import extraction
    from app.observability import configure_logging

    configure_logging(settings.log_level, json=settings.log_format == "json")
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    cache = RegistryCache()
    backoff = settings.extraction_poll_seconds
    parent = os.getppid()

    def should_stop() -> bool:
        # a parent killed with SIGKILL cannot stop its workers: they notice it is gone
        return stop.is_set() or os.getppid() != parent

    try:
        while not should_stop():
            wake.clear()
            try:
                extraction.drain(factory, settings=settings, cache=cache, should_stop=should_stop)
                backoff = settings.extraction_poll_seconds
            except Exception:
                logger.warning("extraction.worker_round_failed wait=%.1fs", backoff, exc_info=True)
                backoff = min(MAX_IDLE_BACKOFF_SECONDS, backoff * 2)
            wake.wait(backoff)
    finally:
        engine.dispose()


class ExtractionPool:
    """`processes` worker processes, supervised by a thread of this process."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], *, processes: int) -> None:
        self._settings, self._factory, self._size = settings, factory, processes
        self._context = multiprocessing.get_context(
            "spawn"
        )  # no fork: the parent holds threads and connections
        self._wake: ProcessEvent = self._context.Event()
        self._stop: ProcessEvent = self._context.Event()
        self._closing = threading.Event()
        self._started = threading.Event()
        self._processes: list[BaseProcess] = []
        self._lock = threading.Lock()
        self._supervisor = threading.Thread(target=self._supervise, name="stanceline-extraction", daemon=True)

    @property
    def size(self) -> int:
        return self._size

    def start(self) -> None:
        """Start supervising; the workers themselves start when there is work."""
        self._supervisor.start()

    def announce(self, article_ids: list[int]) -> None:
        """New pending articles were committed: start the workers if they are not up, wake them."""
        self._started.set()
        self._wake.set()

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._processes if p.pid is not None and p.is_alive()]

    def _supervise(self) -> None:
        while not self._closing.is_set():
            if not self._started.is_set() and self._has_pending():
                self._started.set()
            if self._started.is_set():
                self._replace_dead()
                self._closing.wait(CHECK_SECONDS)
            else:
                self._started.wait(LOOK_SECONDS)

    def _has_pending(self) -> bool:
        try:
            with session_scope(self._factory, write=False) as session:
                return bool(queue_store.list_claimable(session, limit=1))
        except (SQLAlchemyError, DatabaseUnavailable):  # not migrated yet, or down: look again later
            return False

    def _replace_dead(self) -> None:
        with self._lock:
            if self._closing.is_set():
                return
            alive = []
            for process in self._processes:
                if process.is_alive():
                    alive.append(process)
                else:
                    logger.warning("extraction.worker_died pid=%s exitcode=%s", process.pid, process.exitcode)
                    process.close()
            while len(alive) < self._size:
                process = self._spawn()
                alive.append(process)
            self._processes = alive

    def _spawn(self) -> BaseProcess:
        args: tuple[Any, ...] = (self._settings, self._wake, self._stop)
        process = self._context.Process(target=run_worker, args=args, name="stanceline-extract", daemon=True)
        process.start()
        logger.info("extraction.worker_started pid=%s", process.pid)
        return process

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers after the article each has in hand (its transaction commits or rolls
        back; a claimed article not begun waits out its lease)."""
        self._closing.set()
        self._started.set()
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            processes, self._processes = self._processes, []
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                logger.warning("extraction.worker_killed pid=%s: did not stop in time", process.pid)
                process.kill()
                process.join(5)
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=5)
