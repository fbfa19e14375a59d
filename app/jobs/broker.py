"""The Celery application, configured from Settings (broker, queue, delivery guarantees, beat)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

from app.config import Settings

REEXTRACT_PLAN = "stanceline.reextract.plan"
REEXTRACT_CHUNK = "stanceline.reextract.chunk"
FEEDS_POLL_DUE = "stanceline.feeds.poll_due"
FEEDS_POLL = "stanceline.feeds.poll"
BACKGROUND_ROUND = "stanceline.background.round"
EXTRACT_ARTICLES = "stanceline.extraction.articles"
EXTRACT_PENDING = "stanceline.extraction.pending"


def worker_command(python: str, *, queue: str, name: str, concurrency: int = 1) -> list[str]:
    """The command line of a Celery worker process on `queue`, named `name` on this host."""
    return [
        python,
        "-m",
        "celery",
        "-A",
        "app.jobs.celery_app",
        "worker",
        "-c",
        str(concurrency),
        "-Q",
        queue,
        "-n",
        f"{name}@%h",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
    ]


def make_celery(settings: Settings) -> Celery:
    """A Celery app for `settings.broker_url`. Job state lives in the database (`job`, `job_item`),
    so no result backend is needed: task results are ignored."""
    if not settings.broker_url:
        raise ValueError("STANCELINE_BROKER_URL is not set")
    app = Celery("stanceline", broker=settings.broker_url, include=["app.jobs.tasks"])
    visibility = settings.broker_visibility_timeout_seconds
    background_every = max(settings.worker_poll_seconds, 2.0)
    app.conf.update(
        task_default_queue=settings.job_queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # a task is acknowledged when it has finished, not when it starts: a worker that dies
        # mid-task leaves it to be delivered again (its pool child lost: at once; the whole worker
        # lost: after the broker's visibility timeout)
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility,
            # look for tasks of lost workers often enough to honour a short visibility timeout
            "unacked_restore_interval": max(1, min(10, visibility // 4)),
            "unacked_restore_throttle": 1,
        },
        task_annotations={
            REEXTRACT_CHUNK: {
                "max_retries": settings.job_max_retries,
                "retry_backoff_max": settings.job_retry_backoff_max_seconds,
            }
        },
        beat_schedule=_beat_schedule(settings, background_every),
        # the worker logs through app.ops.observability (JSON lines on stderr, keys masked), not its own setup
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


def _beat_schedule(settings: Settings, background_every: float) -> dict[str, dict[str, Any]]:
    return {
        # each beat sends one task; one left over from a stopped worker expires instead of piling up
        "poll-due-feeds": {
            "task": FEEDS_POLL_DUE,
            "schedule": settings.feed_poll_seconds,
            "options": {"expires": settings.feed_poll_seconds},
        },
        # articles whose announcement was lost, or whose retry is due
        "extract-pending": {
            "task": EXTRACT_PENDING,
            "schedule": background_every,
            "options": {"expires": background_every},
        },
        "shift-refresh-and-webhooks": {
            "task": BACKGROUND_ROUND,
            "schedule": background_every,
            "options": {"expires": background_every},
        },
    }


@lru_cache(maxsize=8)
def _client(broker_url: str, queue: str, visibility: int) -> Celery:
    settings = Settings(broker_url=broker_url, job_queue=queue, broker_visibility_timeout_seconds=visibility)
    return make_celery(settings)


def send(settings: Settings, task: str, *args: Any) -> None:
    """Queue `task` by name (the API and CLI need not import the task code)."""
    assert settings.broker_url
    app = _client(settings.broker_url, settings.job_queue, settings.broker_visibility_timeout_seconds)
    app.send_task(task, args=list(args), queue=settings.job_queue)
