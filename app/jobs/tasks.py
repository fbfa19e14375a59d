"""Celery tasks: thin wrappers that run app.jobs.reextract, app.feeds and app.jobs.periodic steps.

Every task is acknowledged late (see broker.make_celery) and is safe to run twice: re-extraction
skips articles its job has finished, feed polls are claimed with a lease and ingest idempotently,
and the background round claims its queue rows.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from app import feeds
from app.jobs import broker, extraction, reextract, worker
from app.jobs import periodic as background

logger = logging.getLogger(__name__)


class ChunkIncomplete(Exception):
    """Some articles of the chunk failed; the retry runs them again (and only them)."""


@shared_task(bind=True, name=broker.REEXTRACT_PLAN, max_retries=5)
def plan_reextract(self: Task[[int], None], job_id: int) -> None:
    """Hand the job's articles out in chunks, then close the job if they are all finished already."""
    runtime = worker.runtime()
    settings = runtime.settings
    try:
        for chunk in reextract.plan(runtime.factory, job_id, chunk_size=settings.job_chunk_size):
            reextract_chunk.apply_async(args=(job_id, chunk), queue=settings.job_queue)
        reextract.finish_if_complete(runtime.factory, job_id, settings=settings)
    except Exception as error:
        if self.request.retries >= (self.max_retries or 0):
            reextract.fail(runtime.factory, job_id, f"planning failed: {type(error).__name__}: {error}")
            return
        wait = reextract.backoff_seconds(self.request.retries, cap=settings.job_retry_backoff_max_seconds)
        raise self.retry(exc=error, countdown=wait) from error


@shared_task(bind=True, name=broker.REEXTRACT_CHUNK, max_retries=5)
def reextract_chunk(self: Task[[int, list[int]], None], job_id: int, article_ids: list[int]) -> None:
    """Re-extract one chunk; retried with exponential backoff while articles fail, and on the
    last attempt the failures are recorded on the job with their errors."""
    runtime = worker.runtime()
    settings = runtime.settings
    last = self.request.retries >= (self.max_retries or 0)
    wait = reextract.backoff_seconds(self.request.retries, cap=settings.job_retry_backoff_max_seconds)
    try:
        outcome = reextract.run_chunk(
            runtime.factory,
            job_id,
            article_ids,
            settings=settings,
            cache=runtime.cache,
            record_failures=last,
        )
    except Exception as error:  # not one article's fault: the database, say
        if last:
            reextract.fail(runtime.factory, job_id, f"chunk failed: {type(error).__name__}: {error}")
            return
        raise self.retry(exc=error, countdown=wait) from error
    if outcome.failed and not last:
        first = next(iter(outcome.failed.items()))
        incomplete = ChunkIncomplete(
            f"{len(outcome.failed)} articles failed; first: article {first[0]}: {first[1]}"
        )
        raise self.retry(exc=incomplete, countdown=wait)
    reextract.finish_if_complete(runtime.factory, job_id, settings=settings)


@shared_task(name=broker.FEEDS_POLL_DUE)
def poll_due_feeds() -> int:
    """Claim the due feeds and queue one poll each (the beat sends this every feed_poll_seconds)."""
    runtime = worker.runtime()
    claimed = feeds.claim_due(runtime.factory, settings=runtime.settings)
    for feed_id in claimed:
        poll_feed.apply_async(args=(feed_id,), queue=runtime.settings.job_queue)
    return len(claimed)


@shared_task(name=broker.FEEDS_POLL)
def poll_feed(feed_id: int) -> str:
    """One claimed feed; failures are recorded on the feed, which backs off (no Celery retry)."""
    runtime = worker.runtime()
    result = feeds.poll_feed(
        runtime.factory, feed_id, settings=runtime.settings, client=runtime.http, cache=runtime.cache
    )
    return result.outcome


@shared_task(name=broker.BACKGROUND_ROUND)
def background_round() -> None:
    """Refresh queued shift series and deliver due webhooks (the shift alerts)."""
    runtime = worker.runtime()
    background.run_once(runtime.settings, runtime.factory)


@shared_task(name=broker.EXTRACT_ARTICLES)
def extract_articles(article_ids: list[int]) -> int:
    """Extract newly queued articles (those still pending); failures are recorded on each article
    and retried by the pending sweep after their backoff."""
    runtime = worker.runtime()
    outcome = extraction.extract_listed(
        runtime.factory, article_ids, settings=runtime.settings, cache=runtime.cache
    )
    return outcome.done


@shared_task(name=broker.EXTRACT_PENDING)
def extract_pending() -> int:
    """Drain the extraction queue: articles whose task was lost, or whose retry is due."""
    runtime = worker.runtime()
    return extraction.drain(runtime.factory, settings=runtime.settings, cache=runtime.cache).done
