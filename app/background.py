"""The API process's background worker: refresh queued shift series, then deliver due webhooks.

One daemon thread per process, polling every `worker_poll_seconds`. Both steps are safe to run
in several processes at once: on PostgreSQL rows are claimed with SKIP LOCKED; on SQLite the
write lock serialises them. Without a broker it also polls due feeds every `feed_poll_seconds`
(each feed claimed by one process). With STANCELINE_BROKER_URL set, Celery workers do all of
this on the beat's schedule (app.jobs.tasks) and the API processes start no thread.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from app import feeds, ingest, shifts, webhooks
from app.config import Settings
from app.db import session_scope

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


class BackgroundWorker:
    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self._settings, self._factory = settings, factory
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stanceline-worker", daemon=True)
        self._cache = ingest.RegistryCache()

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
        next_feed_round = time.monotonic()
        while not self._stop.is_set():
            try:
                run_once(self._settings, self._factory)
            except Exception:  # the worker must outlive a bad round (database restart, etc.)
                logger.exception("worker.round_failed")
            if time.monotonic() >= next_feed_round:
                next_feed_round = time.monotonic() + self._settings.feed_poll_seconds
                self._poll_feeds()
            self._stop.wait(self._settings.worker_poll_seconds)

    def _poll_feeds(self) -> None:
        try:
            with feeds.http_client(self._settings) as client:
                feeds.poll_due(self._factory, settings=self._settings, client=client, cache=self._cache)
        except Exception:
            logger.exception("worker.feeds_failed")
