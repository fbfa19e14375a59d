"""Extraction after ingest: a worker takes pending articles off the queue and extracts each in one
transaction (the article row is the queue, see app.store.extraction_queue).

The same steps run in the local worker processes (app.jobs.pool), in Celery tasks
(app.jobs.tasks) and in `stanceline ingest` / `stanceline extract-pending`:

* `drain` claims a few claimable articles at a time and runs `extract_one` on each until the queue
  is empty (or the caller stops it);
* `extract_one` extracts the article with no transaction open, then, in one write transaction,
  takes the article's row lock, checks that it is still pending and unchanged, and stores its
  observations, stamp and `done` state together: a worker killed at any point leaves the article
  pending (extracted again later) or done (never again), so every article is extracted once;
* a failure is recorded on the article and retried after a backoff, then marked `failed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.ingest import articles as ingest
from app.jobs.reextract import MAX_ERROR_CHARS, backoff_seconds, queueing
from app.models import Article
from app.ops import metrics
from app.registry import context as registry_context
from app.store import extraction_queue as queue_store

logger = logging.getLogger(__name__)

DONE, SKIPPED, FAILED, RETRY = "done", "skipped", "failed", "retry"


def extract_one(
    factory: sessionmaker[Session],
    article_id: int,
    *,
    settings: Settings,
    cache: registry_context.RegistryCache,
) -> str:
    """Extract one pending article: `done`, `skipped` (no longer pending: done by another worker,
    revised meanwhile, deleted), or on an error `retry` / `failed` (recorded on the article)."""
    engine = settings.extraction_engine
    try:
        with session_scope(factory, write=False) as session:
            context = cache.get(session)
            article = session.get(Article, article_id)
        if article is None or article.extraction_state != queue_store.PENDING:
            return SKIPPED
        ahead = ingest.extract_ahead(article, context=context, engine=engine)
        # series are queued, never refreshed per article: a backlog touches the same ones often
        with session_scope(factory, settings=queueing(settings)) as session:
            # the row lock, and the row as it is now: a revision or another worker may have come first
            current = session.get(Article, article_id, with_for_update=True, populate_existing=True)
            if current is None or current.extraction_state != queue_store.PENDING:
                return SKIPPED
            ingest.extract_pending_article(session, current, context=context, engine=engine, ahead=ahead)
        metrics.count_extracted(DONE)
        return DONE
    except Exception as error:  # recorded on the article; the worker goes on with the others
        return _record_failure(factory, article_id, error, settings=settings)


def _record_failure(
    factory: sessionmaker[Session], article_id: int, error: Exception, *, settings: Settings
) -> str:
    message = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]

    def retry_in(made: int) -> float | None:
        if made >= settings.extraction_max_attempts:
            return None
        return backoff_seconds(made - 1, cap=settings.job_retry_backoff_max_seconds)

    with session_scope(factory) as session:
        made, give_up = queue_store.record_failure(
            session, article_id=article_id, error=message, retry_in=retry_in
        )
    outcome = FAILED if give_up else RETRY
    logger.warning(
        "extraction.failed article_id=%s attempt=%d outcome=%s error=%s", article_id, made, outcome, message
    )
    metrics.count_extracted(outcome)
    return outcome


def claim(factory: sessionmaker[Session], *, settings: Settings) -> list[int]:
    """Lease a few claimable articles: a read first, so an idle poll takes no write lock."""
    with session_scope(factory, write=False) as session:
        found = queue_store.list_claimable(session, limit=settings.extraction_claim_size)
    if not found:
        return []
    with session_scope(factory) as session:
        return queue_store.claim(session, article_ids=found, lease_seconds=settings.extraction_lease_seconds)


@dataclass
class DrainOutcome:
    done: int = 0
    skipped: int = 0
    retry: int = 0
    failed: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def drain(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    cache: registry_context.RegistryCache,
    should_stop: Callable[[], bool] = lambda: False,
    on_article: Callable[[str], None] | None = None,
) -> DrainOutcome:
    """Extract claimable articles until there are none (articles waiting out a retry backoff are
    left for a later call)."""
    outcome = DrainOutcome()
    while not should_stop():
        claimed = claim(factory, settings=settings)
        if not claimed:
            break
        for article_id in claimed:
            if should_stop():
                break  # the rest of the claim waits out its lease, then another worker takes it
            result = extract_one(factory, article_id, settings=settings, cache=cache)
            outcome.add(result)
            if on_article is not None:
                on_article(result)
    return outcome


def extract_listed(
    factory: sessionmaker[Session],
    article_ids: Sequence[int],
    *,
    settings: Settings,
    cache: registry_context.RegistryCache,
) -> DrainOutcome:
    """Extract the listed articles that are still pending (a Celery task's articles): each is
    claimed first, so a local worker or a redelivered task racing for it waits its turn."""
    outcome = DrainOutcome()
    with session_scope(factory) as session:
        claimed = queue_store.claim(
            session, article_ids=article_ids, lease_seconds=settings.extraction_lease_seconds
        )
    for article_id in claimed:
        outcome.add(extract_one(factory, article_id, settings=settings, cache=cache))
    return outcome


# --- telling the workers -----------------------------------------------------------------------

Announcer = Callable[[list[int]], None]


def announce_after_commit(session: Session, article_ids: Sequence[int], announcer: Announcer | None) -> None:
    """Tell the workers about new pending articles once the transaction that stored them has
    committed (before, a worker could look and not find them yet). Nothing is lost when the
    announcement is: the workers also poll the queue."""
    if announcer is None or not article_ids:
        return
    ids = list(article_ids)

    def _announce(_: Session) -> None:
        try:
            announcer(ids)
        except Exception:  # the broker is down, say: the periodic sweep picks them up
            logger.warning("extraction.announce_failed articles=%d", len(ids), exc_info=True)

    event.listen(session, "after_commit", _announce, once=True)
