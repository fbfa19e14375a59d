"""The API process's periodic worker: refresh queued shift series, deliver due webhooks, poll due feeds.

One daemon thread per process, polling every `worker_poll_seconds`. Both steps are safe to run
in several processes at once: on PostgreSQL rows are claimed with SKIP LOCKED; on SQLite the
write lock serialises them. Without a broker it also polls due feeds every `feed_poll_seconds`
(each feed claimed by one process). With STANCELINE_BROKER_URL set, Celery workers do all of
this on the beat's schedule (app.jobs.tasks) and the API processes start no thread.

Re-extraction jobs run in a thread of their own (`app.jobs.inprocess`), not in this one: a job
takes minutes, and shifts, webhooks and feeds must not wait behind it.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app import feeds
from app.config import Settings
from app.db import DatabaseUnavailable, session_scope
from app.registry import context as registry_context
from app.shifts import refresh as shifts
from app.shifts import webhooks

logger = logging.getLogger(__name__)


def run_once(settings: Settings, factory: sessionmaker[Session], *, settle: bool = True) -> None:
    """Drain the shift queue, then post due webhook deliveries.

    `settle=False`: every queued series now, not only the settled ones (what a command does before
    it ends, see `shifts.process_queue`).
    """
    if settings.shift_detection != "off":
        while True:
            with session_scope(factory) as session:
                if not shifts.process_queue(session, settings=settings, settle=settle):
                    break
    if settings.webhook_urls:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        webhooks.deliver_due(
            factory,
            secret=secret,
            max_attempts=settings.webhook_max_attempts,
            timeout=settings.webhook_timeout_seconds,
        )


# while rounds fail, the wait between them doubles up to this
MAX_BACKOFF_SECONDS = 30.0


class BackgroundWorker:
    """Runs `run_once` every `worker_poll_seconds` in a daemon thread.

    While rounds fail (the database is down, most often) the wait doubles up to
    `MAX_BACKOFF_SECONDS`, and the log says so once: a warning with the error's first line when
    rounds start failing (with the traceback when it is not the database's), an info line when
    one succeeds again.
    """

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self._settings, self._factory = settings, factory
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stanceline-worker", daemon=True)
        self._cache = registry_context.RegistryCache()
        self._failed_rounds = 0
        self._next_feed_round = time.monotonic()

    @staticmethod
    def needed(settings: Settings) -> bool:
        if settings.broker_url:
            return False
        return settings.shift_detection == "deferred" or bool(settings.webhook_urls)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(
            timeout=self._settings.webhook_timeout_seconds + self._settings.worker_poll_seconds + 5
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.poll())

    def poll(self) -> float:
        """One round; returns how long to wait before the next."""
        try:
            run_once(self._settings, self._factory)
        except Exception as error:  # the worker must outlive a bad round (database restart, etc.)
            return self._failed(error)
        if self._failed_rounds:
            logger.info("worker.recovered failed_rounds=%d", self._failed_rounds)
            self._failed_rounds = 0
        if time.monotonic() >= self._next_feed_round:
            self._next_feed_round = time.monotonic() + self._settings.feed_poll_seconds
            self._poll_feeds()
        return self._settings.worker_poll_seconds

    def _failed(self, error: Exception) -> float:
        self._failed_rounds += 1
        base = self._settings.worker_poll_seconds
        wait = min(base * 2.0 ** min(self._failed_rounds, 32), max(MAX_BACKOFF_SECONDS, base))
        if self._failed_rounds == 1:
            database = isinstance(error, OperationalError | DatabaseUnavailable)
            logger.warning(
                "worker.round_failed error=%s retry_in=%.1fs (logged once until a round succeeds)",
                _summary(error),
                wait,
                exc_info=None if database else error,
            )
        return wait

    def _poll_feeds(self) -> None:
        try:
            with feeds.http_client(self._settings) as client:
                feeds.poll_due(self._factory, settings=self._settings, client=client, cache=self._cache)
        except Exception:
            logger.exception("worker.feeds_failed")


def _summary(error: BaseException) -> str:
    """The error's first line: a DBAPI error's own message, without SQLAlchemy's statement and link."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"
