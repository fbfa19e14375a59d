"""Jobs, their items, and the articles a re-extraction job selects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Article, Job, JobItem, utcnow


def add_job(session: Session, *, kind: str, backend: str, params: dict[str, Any], total: int) -> Job:
    job = Job(kind=kind, backend=backend, params=params, total=total, state="queued")
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, *, job_id: int) -> Job | None:
    return session.get(Job, job_id, populate_existing=True)


def list_jobs(session: Session, *, before_id: int | None, limit: int) -> list[Job]:
    """Newest first."""
    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(Job.id < before_id)
    return list(session.scalars(stmt))


def _set(session: Session, job_id: int, *where: ColumnElement[bool], **values: Any) -> bool:
    stmt = update(Job).where(Job.id == job_id, *where).values(**values)
    return bool(session.execute(stmt.execution_options(synchronize_session=False)).rowcount)  # type: ignore[attr-defined]


def start_job(session: Session, *, job_id: int) -> bool:
    """queued -> running (a job already running stays so: a redelivered start is harmless)."""
    now = utcnow()
    started = _set(
        session,
        job_id,
        Job.state == "queued",
        state="running",
        started_at=now,
        heartbeat_at=now,
    )
    return started or _set(session, job_id, Job.state == "running", heartbeat_at=now)


def beat(session: Session, *, job_id: int) -> None:
    _set(session, job_id, heartbeat_at=utcnow())


def mark_planned(session: Session, *, job_id: int, total: int) -> None:
    _set(session, job_id, total=total, planned_at=utcnow(), heartbeat_at=utcnow())


def finish_job(session: Session, *, job_id: int, state: str, error: str | None = None) -> bool:
    """running (or queued) -> succeeded | failed, once."""
    now = utcnow()
    return _set(
        session,
        job_id,
        Job.state.in_(("queued", "running")),
        state=state,
        error=error,
        finished_at=now,
        heartbeat_at=now,
    )


def requeue_job(session: Session, *, job_id: int) -> None:
    """An interrupted in-process job goes back to the queue (its finished items stay finished)."""
    _set(session, job_id, Job.state == "running", state="queued", heartbeat_at=utcnow())


def list_orphaned(session: Session, *, backend: str, stale_before: datetime, limit: int = 20) -> list[Job]:
    """Unfinished jobs of `backend` nobody has touched since `stale_before`."""
    stmt = (
        select(Job)
        .where(Job.backend == backend, Job.state.in_(("queued", "running")), Job.heartbeat_at < stale_before)
        .order_by(Job.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def claim_orphan(session: Session, *, job_id: int, seen_heartbeat: datetime) -> bool:
    """Take over an orphaned job unless another process did first (its heartbeat moved)."""
    return _set(session, job_id, Job.heartbeat_at == seen_heartbeat, heartbeat_at=utcnow())


def item_counts(session: Session, *, job_id: int) -> dict[str, int]:
    stmt = select(JobItem.status, func.count()).where(JobItem.job_id == job_id).group_by(JobItem.status)
    return {str(status): int(count) for status, count in session.execute(stmt)}


def first_item_error(session: Session, *, job_id: int) -> str | None:
    stmt = (
        select(JobItem.article_id, JobItem.error)
        .where(JobItem.job_id == job_id, JobItem.status == "failed")
        .order_by(JobItem.article_id)
        .limit(1)
    )
    row = session.execute(stmt).first()
    return f"article {row[0]}: {row[1]}" if row else None


def finished_article_ids(session: Session, *, job_id: int, article_ids: Sequence[int]) -> set[int]:
    stmt = select(JobItem.article_id).where(JobItem.job_id == job_id, JobItem.article_id.in_(article_ids))
    return set(session.scalars(stmt))


def claim_item(session: Session, *, job_id: int, article_id: int) -> JobItem | None:
    """Record the article as finished by the job, in the caller's transaction, unless another run
    already did: None then. On PostgreSQL a concurrent claim waits for the first to commit or roll
    back; on SQLite the write lock orders them."""
    item = JobItem(job_id=job_id, article_id=article_id, status="done", finished_at=utcnow())
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:
        return None
    return item


def add_failed_item(session: Session, *, job_id: int, article_id: int, error: str) -> None:
    session.add(
        JobItem(job_id=job_id, article_id=article_id, status="failed", error=error, finished_at=utcnow())
    )
    session.flush()


LIKE_ESCAPE = "/"


def like_pattern(term: Sequence[str]) -> str:
    """A LIKE pattern matching text that holds the fragments of `term` in order."""

    def quoted(fragment: str) -> str:
        for char in (LIKE_ESCAPE, "%", "_"):
            fragment = fragment.replace(char, LIKE_ESCAPE + char)
        return fragment

    return "%" + "%".join(quoted(fragment) for fragment in term) + "%"


def _selection(params: dict[str, Any]) -> list[ColumnElement[bool]]:
    """The articles a re-extraction job covers: up to `up_to_id`, published in [from, to), and
    with `terms` (app.registry.reach), those whose title or text holds one of them."""
    clauses: list[ColumnElement[bool]] = [Article.id <= int(params["up_to_id"])]
    if params.get("published_from"):
        clauses.append(Article.published_at >= datetime.fromisoformat(params["published_from"]))
    if params.get("published_to"):
        clauses.append(Article.published_at < datetime.fromisoformat(params["published_to"]))
    terms = params.get("terms")
    if terms:
        # lower() folds ASCII on SQLite (and the terms are lowercase ASCII); LIKE is case-sensitive
        # on PostgreSQL, hence lower() there too
        haystack = func.lower(func.coalesce(Article.title, "") + "\n" + Article.text)
        clauses.append(or_(*(haystack.like(like_pattern(term), escape=LIKE_ESCAPE) for term in terms)))
    return clauses


def last_article_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Article.id))) or 0)


def count_selected_articles(session: Session, *, params: dict[str, Any]) -> int:
    stmt = select(func.count()).select_from(Article).where(*_selection(params))
    return int(session.scalar(stmt) or 0)


def list_selected_article_ids(
    session: Session, *, params: dict[str, Any], after_id: int, limit: int
) -> list[int]:
    stmt = (
        select(Article.id).where(Article.id > after_id, *_selection(params)).order_by(Article.id).limit(limit)
    )
    return list(session.scalars(stmt))
