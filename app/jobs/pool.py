"""The local extraction workers: processes of this machine that drain the extraction queue.

The embedded default (no STANCELINE_BROKER_URL). Each API process supervises
`extraction_workers` processes, started the first time it sees pending articles (an ingest it
answered, or a look at the queue every few seconds: a backlog left by a crash or by another
process). A worker that dies (killed, out of memory) is started again; the articles it had
claimed wait out their lease and are taken again (app.jobs.extraction says why none is extracted
twice). Processes, not threads: extraction is CPU work, and a process per core runs in parallel.

Each worker hears from its parent through a pipe of its own: a byte wakes it, the end of the
pipe stops it. The end comes when the parent closes it and also when the parent dies, however
(SIGKILL included), so no worker outlives its parent. A pipe has no lock a process killed at the
wrong moment could leave held (a shared multiprocessing.Event has one).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import DatabaseUnavailable, session_scope
from app.store import extraction_queue as queue_store

logger = logging.getLogger(__name__)

LOOK_SECONDS = 3.0  # how often the supervisor looks at the queue while no worker runs
CHECK_SECONDS = 1.0  # how often it checks that its workers are alive
MAX_IDLE_BACKOFF_SECONDS = 30.0


class ParentLine:
    """A worker's end of its pipe: waits for a wake-up, and knows when its parent is gone."""

    def __init__(self, reader: Connection) -> None:
        self._reader, self.ended = reader, False

    def wait(self, timeout: float) -> None:
        if self.ended or not self._reader.poll(timeout):
            return
        try:
            self.ended = not os.read(self._reader.fileno(), 4096)  # b"": the parent closed it, or died
        except OSError:
            self.ended = True

    def should_stop(self) -> bool:
        self.wait(0)
        return self.ended


def run_worker(settings: Settings, reader: Connection) -> None:
    """A worker process's life: drain the queue, wait for a wake-up or the next poll, again, until
    its parent closes the pipe or is gone. A failing database makes it wait longer between tries
    (doubling, up to 30 s) rather than exit."""
    from app.db import make_engine, make_sessionmaker
    from app.extraction import configure as configure_extraction
    from app.jobs import extraction
    from app.ops.observability import configure_logging
    from app.registry.context import RegistryCache

    configure_logging(settings.log_level, json=settings.log_format == "json")
    configure_extraction(settings)  # a spawned process: the llm engine's endpoint is set again here
    engine = make_engine(settings)
    factory = make_sessionmaker(engine, settings)
    cache = RegistryCache()
    line = ParentLine(reader)
    backoff = settings.extraction_poll_seconds
    try:
        while not line.should_stop():
            try:
                extraction.drain(factory, settings=settings, cache=cache, should_stop=line.should_stop)
                backoff = settings.extraction_poll_seconds
            except Exception:
                logger.warning("extraction.worker_round_failed wait=%.1fs", backoff, exc_info=True)
                backoff = min(MAX_IDLE_BACKOFF_SECONDS, backoff * 2)
            line.wait(backoff)
    finally:
        engine.dispose()


class _Worker:
    def __init__(self, process: BaseProcess, writer: Connection) -> None:
        self.process, self.writer = process, writer
        os.set_blocking(writer.fileno(), False)  # a full pipe already holds plenty of wake-ups

    def wake(self) -> None:
        # full (BlockingIOError: wake-ups enough are waiting) or closed (the worker died): no matter
        with contextlib.suppress(OSError):
            os.write(self.writer.fileno(), b"\0")

    def close(self) -> None:
        self.writer.close()


class ExtractionPool:
    """`processes` worker processes, supervised by a thread of this process."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], *, processes: int) -> None:
        self._settings, self._factory, self._size = settings, factory, processes
        self._context = multiprocessing.get_context(
            "spawn"
        )  # no fork: the parent holds threads and connections
        self._closing = threading.Event()
        self._started = threading.Event()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._supervisor = threading.Thread(target=self._supervise, name="stanceline-extraction", daemon=True)

    def start(self) -> None:
        """Start supervising; the workers themselves start when there is work."""
        self._supervisor.start()

    def announce(self, article_ids: list[int]) -> None:
        """New pending articles were committed: start the workers if they are not up, wake them."""
        self._started.set()
        with self._lock:
            for worker in self._workers:
                worker.wake()

    def pids(self) -> list[int]:
        with self._lock:
            return [
                w.process.pid for w in self._workers if w.process.pid is not None and w.process.is_alive()
            ]

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
            for worker in self._workers:
                if worker.process.is_alive():
                    alive.append(worker)
                    continue
                logger.warning(
                    "extraction.worker_died pid=%s exitcode=%s", worker.process.pid, worker.process.exitcode
                )
                worker.close()
                worker.process.close()
            while len(alive) < self._size:
                alive.append(self._spawn())
            self._workers = alive

    def _spawn(self) -> _Worker:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_worker, args=(self._settings, reader), name="stanceline-extract", daemon=True
        )
        process.start()
        reader.close()  # the child has its own copy; the parent keeps only the writing end
        logger.info("extraction.worker_started pid=%s", process.pid)
        return _Worker(process, writer)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers after the article each has in hand (its transaction commits or rolls
        back; a claimed article not begun waits out its lease)."""
        self._closing.set()
        self._started.set()
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                logger.warning("extraction.worker_killed pid=%s: did not stop in time", worker.process.pid)
                worker.process.kill()
                worker.process.join(5)
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=5)
