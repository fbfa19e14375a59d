"""Background jobs: Celery tasks when STANCELINE_BROKER_URL is set, a thread of this process when not.

Either way a job's state and progress live in the database (`job`, `job_item`), so
GET /v1/jobs/{id} and `stanceline jobs show` report it whichever process runs it.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.jobs import broker, reextract
from app.jobs.inprocess import InProcessRunner

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
