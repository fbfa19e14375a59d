"""Jobs without a broker: the same steps as the Celery tasks, run by a thread of this process.

The embedded default (no STANCELINE_BROKER_URL). A failing chunk is retried with the same
exponential backoff as on Celery; past `job_max_retries` its articles are recorded as failed.
On shutdown the thread stops after the article in hand and puts its job back in the queue; the next
process to start (this one again, or another API process) resumes it once its heartbeat is
`STALE_SECONDS` old, skipping what was finished.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.jobs import reextract
from app.models import utcnow
from app.registry import context as registry_context
from app.store import jobs as job_store

logger = logging.getLogger(__name__)

BACKEND = "inprocess"
STALE_SECONDS = 60


class Stopped(Exception):
    """The process is shutting down; the job goes back to the queue."""


def execute(
    factory: sessionmaker[Session],
    job_id: int,
    *,
    settings: Settings,
    cache: registry_context.RegistryCache | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run a re-extraction job to its end in this thread (what the CLI calls in the foreground)."""
    cache = cache or registry_context.RegistryCache()
    stop = stop or threading.Event()
    try:
        # a read first: a job whose transaction never committed is nobody's to run, and waiting
        # for the write lock to learn that would hold this thread up behind that transaction
        with session_scope(factory, write=False) as session:
            if job_store.get_job(session, job_id=job_id) is None:
                logger.warning("jobs.not_found job_id=%s: not committed, nothing to run", job_id)
                return
        for chunk in reextract.plan(factory, job_id, chunk_size=settings.job_chunk_size):
            _run_with_retries(factory, job_id, chunk, settings=settings, cache=cache, stop=stop)
        reextract.finish_if_complete(factory, job_id, settings=settings)
    except Stopped:
        with session_scope(factory) as session:
            job_store.requeue_job(session, job_id=job_id)
        logger.info("jobs.interrupted job_id=%s", job_id)
    except Exception as error:
        logger.exception("jobs.crashed job_id=%s", job_id)
        reextract.fail(factory, job_id, f"{type(error).__name__}: {error}")


def _run_with_retries(
    factory: sessionmaker[Session],
    job_id: int,
    chunk: list[int],
    *,
    settings: Settings,
    cache: registry_context.RegistryCache,
    stop: threading.Event,
) -> None:
    for attempt in range(settings.job_max_retries + 1):
        if stop.is_set():
            raise Stopped
        last = attempt == settings.job_max_retries
        outcome = reextract.run_chunk(
            factory,
            job_id,
            chunk,
            settings=settings,
            cache=cache,
            record_failures=last,
            should_stop=stop.is_set,
        )
        if outcome.interrupted:
            raise Stopped
        if not outcome.failed or last:
            return
        wait = reextract.backoff_seconds(attempt, cap=settings.job_retry_backoff_max_seconds)
        logger.info("jobs.retry job_id=%s failed=%d wait=%.0fs", job_id, len(outcome.failed), wait)
        if stop.wait(wait):
            raise Stopped


class InProcessRunner:
    """This process's jobs, one at a time in one thread: an embedded database is better served by
    one re-extraction at a time than by several competing for its write lock. Jobs waiting their
    turn stay `queued` in the database."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self._settings, self._factory = settings, factory
        self._stop = threading.Event()
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._cache = registry_context.RegistryCache()

    def start(self, job_id: int) -> None:
        self._queue.put(job_id)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stanceline-jobs", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            execute(self._factory, job_id, settings=self._settings, cache=self._cache, stop=self._stop)

    def resume_orphans(self) -> list[int]:
        """Start the in-process jobs whose process went away (heartbeat older than STALE_SECONDS)."""
        resumed: list[int] = []
        stale_before = utcnow() - timedelta(seconds=STALE_SECONDS)
        try:
            # a read first: the common case (nothing orphaned) takes no write lock
            with session_scope(self._factory, write=False) as session:
                found = [
                    (job.id, job.heartbeat_at)
                    for job in job_store.list_orphaned(session, backend=BACKEND, stale_before=stale_before)
                ]
            if found:
                with session_scope(self._factory) as session:
                    resumed = [
                        job_id
                        for job_id, seen in found
                        if job_store.claim_orphan(session, job_id=job_id, seen_heartbeat=seen)
                    ]
        except SQLAlchemyError:  # a database not migrated yet (/readyz says so) has no jobs to resume
            logger.warning("jobs.resume_skipped", exc_info=True)
            return []
        for job_id in resumed:
            logger.info("jobs.resumed job_id=%s", job_id)
            self.start(job_id)
        return resumed

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the article in hand; the running job goes back to the queue."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout=timeout)
