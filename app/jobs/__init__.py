"""Background jobs: Celery tasks when STANCELINE_BROKER_URL is set, a thread of this process when not.

Either way a job's state and progress live in the database (`job`, `job_item`), so
GET /v1/jobs/{id} and `stanceline jobs show` report it whichever process runs it.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.jobs import broker, reextract
from app.jobs.extraction import Announcer
from app.jobs.inprocess import InProcessRunner
from app.jobs.pool import ExtractionPool

logger = logging.getLogger(__name__)


def backend_for(settings: Settings) -> str:
    return "celery" if settings.broker_url else "inprocess"


def dispatch(
    factory: sessionmaker[Session], job_id: int, *, settings: Settings, runner: InProcessRunner | None
) -> None:
    """Start a committed job: queue its first task on the broker, or start its thread here."""
    if settings.broker_url:
        try:
            broker.send(settings, broker.REEXTRACT_PLAN, job_id)
        except Exception as error:  # the broker is down: say so on the job rather than leave it queued
            logger.exception("jobs.dispatch_failed job_id=%s", job_id)
            reextract.fail(factory, job_id, f"could not queue the job on the broker: {error}")
        return
    if runner is None:
        raise RuntimeError("no broker and no in-process runner to start the job")
    runner.start(job_id)


def extraction_pool(settings: Settings, factory: sessionmaker[Session]) -> ExtractionPool | None:
    """This process's local extraction workers: none when a broker's Celery workers extract, or
    when `extraction_workers` is 0 (another process drains the queue)."""
    if settings.broker_url or settings.extraction_workers == 0:
        return None
    return ExtractionPool(settings, factory, processes=settings.extraction_workers)


def extraction_announcer(settings: Settings, pool: ExtractionPool | None) -> Announcer | None:
    """Who hears of newly queued articles: the Celery workers (a task naming them) or the local ones."""
    if settings.broker_url:
        return lambda article_ids: broker.send(settings, broker.EXTRACT_ARTICLES, article_ids)
    return pool.announce if pool is not None else None
