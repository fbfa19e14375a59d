"""The re-extraction job: every selected article re-extracted once, in chunks, one transaction each.

The same functions run inside Celery tasks (app.jobs.tasks) and in-process (app.jobs.inprocess):

* `create` records the job and the selection (articles up to the newest id at that moment,
  optionally by publication date), with the count as its provisional total; `create_for_change`
  the same after a registry write, over the articles holding one of the change's terms;
* `plan` walks the selected ids in chunks; when done, `total` is the number handed out;
* `run_chunk` re-extracts each article of a chunk in its own transaction, which also writes the
  article's `job_item` row: a chunk run again (a retry, or redelivered after its worker was
  killed) skips what is finished, and two runs racing for one article cannot both commit it;
* `finish_if_complete` closes the job once every planned article has an item.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.errors import NotFound
from app.ingest import articles as ingest
from app.jobs import periodic as background
from app.models import Job
from app.registry import context as registry_context
from app.registry.reach import Reach
from app.store import articles as article_store
from app.store import jobs as job_store

logger = logging.getLogger(__name__)

KIND = "reextract"
MAX_ERROR_CHARS = 2000


def create(
    session: Session,
    *,
    backend: str,
    engine: str,
    published_from: datetime | None = None,
    published_to: datetime | None = None,
) -> Job:
    params: dict[str, Any] = {
        "engine": engine,
        "up_to_id": job_store.last_article_id(session),
        "published_from": published_from.isoformat() if published_from else None,
        "published_to": published_to.isoformat() if published_to else None,
    }
    total = job_store.count_selected_articles(session, params=params)
    return _add(session, backend=backend, params=params, total=total)


def create_for_change(
    session: Session, change: Reach, *, backend: str, engine: str, reason: str
) -> Job | None:
    """A job over the stored articles a registry write can change the extraction of (`change`,
    app.registry.reach), in the write's transaction; None when there is none to re-extract (no
    change, an empty store, or no stored article holds one of the change's terms)."""
    if not change.changed:
        return None
    up_to_id = job_store.last_article_id(session)
    if up_to_id == 0:
        return None
    params: dict[str, Any] = {"engine": engine, "up_to_id": up_to_id, "reason": reason}
    terms = change.selection(engine=engine)
    if terms is not None:
        params["terms"] = terms
    total = job_store.count_selected_articles(session, params=params)
    if total == 0:
        logger.info("jobs.not_needed reason=%r: no stored article holds one of its terms", reason)
        return None
    return _add(session, backend=backend, params=params, total=total)


def _add(session: Session, *, backend: str, params: dict[str, Any], total: int) -> Job:
    job = job_store.add_job(session, kind=KIND, backend=backend, params=params, total=total)
    logger.info(
        "jobs.created job_id=%s kind=%s backend=%s total=%d reason=%r",
        job.id,
        KIND,
        backend,
        total,
        params.get("reason"),
    )
    return job


def plan(factory: sessionmaker[Session], job_id: int, *, chunk_size: int) -> Iterator[list[int]]:
    """The job's article ids in chunks; once exhausted, the job's total is the number handed out."""
    with session_scope(factory) as session:
        job = _job(session, job_id)
        params = dict(job.params)
        job_store.start_job(session, job_id=job_id)
    after, planned = 0, 0
    while True:
        with session_scope(factory, write=False) as session:
            ids = job_store.list_selected_article_ids(
                session, params=params, after_id=after, limit=chunk_size
            )
        if not ids:
            break
        planned += len(ids)
        after = ids[-1]
        yield ids
    with session_scope(factory) as session:
        job_store.mark_planned(session, job_id=job_id, total=planned)


@dataclass
class ChunkOutcome:
    done: int = 0
    missing: int = 0
    skipped: int = 0  # finished earlier, by this job's earlier run or a racing worker
    failed: dict[int, str] = field(default_factory=dict)
    interrupted: bool = False  # stopped before its end (the process is shutting down)


def run_chunk(
    factory: sessionmaker[Session],
    job_id: int,
    article_ids: Sequence[int],
    *,
    settings: Settings,
    cache: registry_context.RegistryCache,
    record_failures: bool,
    should_stop: Callable[[], bool] | None = None,
) -> ChunkOutcome:
    """Re-extract the chunk's unfinished articles. An article that fails leaves nothing behind (its
    transaction rolls back); with `record_failures` (the last attempt) it is recorded as failed
    with its error, otherwise it stays unfinished for the next attempt."""
    with session_scope(factory) as session:
        engine = str(_job(session, job_id).params["engine"])
        finished = job_store.finished_article_ids(session, job_id=job_id, article_ids=article_ids)
        job_store.beat(session, job_id=job_id)
    outcome = ChunkOutcome(skipped=len(finished))
    for article_id in article_ids:
        if article_id in finished:
            continue
        if should_stop is not None and should_stop():
            outcome.interrupted = True
            return outcome
        try:
            status = _reextract_one(
                factory, job_id, article_id, settings=settings, cache=cache, engine=engine
            )
        except Exception as error:  # recorded per article; the chunk goes on with the others
            logger.warning("jobs.article_failed job_id=%s article_id=%s error=%r", job_id, article_id, error)
            outcome.failed[article_id] = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
            continue
        if status == "done":
            outcome.done += 1
        elif status == "missing":
            outcome.missing += 1
        else:
            outcome.skipped += 1
    logger.info(
        "jobs.chunk job_id=%s done=%d skipped=%d missing=%d failed=%d",
        job_id,
        outcome.done,
        outcome.skipped,
        outcome.missing,
        len(outcome.failed),
    )
    if outcome.failed and record_failures:
        with session_scope(factory) as session:
            done_meanwhile = job_store.finished_article_ids(
                session, job_id=job_id, article_ids=list(outcome.failed)
            )
            for article_id, message in outcome.failed.items():
                if article_id not in done_meanwhile:
                    job_store.add_failed_item(session, job_id=job_id, article_id=article_id, error=message)
    return outcome


def _reextract_one(
    factory: sessionmaker[Session],
    job_id: int,
    article_id: int,
    *,
    settings: Settings,
    cache: registry_context.RegistryCache,
    engine: str,
) -> str:
    """One article in one transaction: its job item, its new observations, its queued series.

    The extraction itself runs first, outside the write transaction, so the write lock (SQLite)
    is held for the database work alone and other writers are not starved by a long job."""
    context, ahead = extract_before_writing(factory, article_id, cache=cache, engine=engine)
    # series are queued, never refreshed per article: a job touches the same ones many times
    with session_scope(factory, settings=queueing(settings)) as session:
        item = job_store.claim_item(session, job_id=job_id, article_id=article_id)
        if item is None:
            return "skipped"
        try:
            ingest.reextract_article(session, article_id, context=context, engine=engine, ahead=ahead)
        except NotFound:  # deleted since the job was planned
            item.status = "missing"
            return "missing"
    return "done"


def extract_before_writing(
    factory: sessionmaker[Session], article_id: int, *, cache: registry_context.RegistryCache, engine: str
) -> tuple[registry_context.RegistryContext, ingest.Extraction | None]:
    """What re-extracting one article needs before its write transaction: the registry context,
    and the article's extraction, made with no transaction open (None for a syndicated copy, or
    an article gone). The write then only stores it, unless the registry or the text moved in
    between (`Extraction.fits`)."""
    with session_scope(factory, write=False) as session:
        context = cache.get(session)
        article = article_store.get_article(session, article_id=article_id)
    if article is None or article.story_id is not None:
        return context, None
    return context, ingest.extract_ahead(article, context=context, engine=engine)


def queueing(settings: Settings) -> Settings:
    """`settings` for a background writer: series are queued, never refreshed per article (with
    `sync` there is no worker to refresh them later, so the job refreshes them when it ends)."""
    if settings.shift_detection == "sync":
        return settings.model_copy(update={"shift_detection": "deferred"})
    return settings


def finish_if_complete(factory: sessionmaker[Session], job_id: int, *, settings: Settings) -> bool:
    """Close the job once it is planned and every planned article has an item. With
    `shift_detection=sync` (no background worker to do it) the series the job queued are
    refreshed then, once each."""
    closed = False
    with session_scope(factory) as session:
        job = _job(session, job_id)
        if job.state != "running" or job.planned_at is None:
            return job.state in ("succeeded", "failed")
        counts = job_store.item_counts(session, job_id=job_id)
        if sum(counts.values()) < job.total:
            return False
        failed = counts.get("failed", 0)
        summary = None
        if failed:
            first = job_store.first_item_error(session, job_id=job_id)
            summary = f"{failed} of {job.total} articles failed; first: {first}"
        closed = job_store.finish_job(
            session, job_id=job_id, state="failed" if failed else "succeeded", error=summary
        )
        if closed:
            logger.info(
                "jobs.finished job_id=%s state=%s counts=%s",
                job_id,
                "failed" if failed else "succeeded",
                counts,
            )
    if closed and settings.shift_detection == "sync":
        background.run_once(settings, factory, settle=False)
    return True


def fail(factory: sessionmaker[Session], job_id: int, error: str) -> None:
    """Give up on the whole job (a step failed past its retries), keeping what it finished."""
    with session_scope(factory) as session:
        job_store.finish_job(session, job_id=job_id, state="failed", error=error[:MAX_ERROR_CHARS])
    logger.error("jobs.failed job_id=%s error=%s", job_id, error)


def _job(session: Session, job_id: int) -> Job:
    job = job_store.get_job(session, job_id=job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


def backoff_seconds(attempt: int, *, cap: int) -> float:
    """Wait before retry `attempt` (0-based): 1, 2, 4, ... seconds, capped (as Celery's retry_backoff)."""
    return float(min(cap, 2**attempt))
