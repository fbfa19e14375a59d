"""The extraction queue: articles stored with `extraction_state = 'pending'` (app.jobs.extraction).

A worker claims a few pending articles by setting their lease; while the lease runs no other
worker takes them. The claim only spreads the work: what makes each article extracted exactly once
is the worker's write transaction, which holds the article's row lock and checks that it is still
pending before storing its observations. A worker killed mid-article leaves it pending, and it is
claimed again once its lease has run out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.models import Article, utcnow

PENDING = "pending"
FAILED = "failed"
DONE = "done"


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        Article.extraction_state == PENDING,
        or_(Article.extraction_lease_until.is_(None), Article.extraction_lease_until < now),
    )


def has_pending(session: Session) -> bool:
    """Whether any article waits for extraction (one probe of the partial index)."""
    return session.scalar(select(Article.id).where(Article.extraction_state == PENDING).limit(1)) is not None


def list_claimable(session: Session, *, limit: int, now: datetime | None = None) -> list[int]:
    """Pending articles no worker holds (oldest first): a read, so that an idle worker polling an
    empty queue takes no write lock."""
    stmt = select(Article.id).where(_claimable(now or utcnow())).order_by(Article.id).limit(limit)
    return list(session.scalars(stmt))


def claim(session: Session, *, article_ids: Sequence[int], lease_seconds: float) -> list[int]:
    """Lease those of `article_ids` that are still claimable; returns them. The WHERE is evaluated
    again on each row after a concurrent claimer's lock is released (PostgreSQL), so two workers
    never both claim one article."""
    if not article_ids:
        return []
    now = utcnow()
    stmt = (
        update(Article)
        .where(Article.id.in_(list(article_ids)), _claimable(now))
        .values(extraction_lease_until=now + timedelta(seconds=lease_seconds))
        .returning(Article.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(stmt))


def record_failure(
    session: Session, *, article_id: int, error: str, retry_in: Callable[[int], float | None]
) -> tuple[int, bool]:
    """One more failed attempt, with its error: retried after `retry_in(attempts made)` seconds,
    or, when that is None, given up (`failed`). Returns the attempts made and whether it gave up."""
    article = session.get(Article, article_id, with_for_update=True)
    if article is None or article.extraction_state != PENDING:
        return 0, False
    article.extraction_attempts += 1
    article.extraction_error = error
    wait = retry_in(article.extraction_attempts)
    if wait is None:
        article.extraction_state = FAILED
        article.extraction_lease_until = None
    else:
        article.extraction_lease_until = utcnow() + timedelta(seconds=wait)
    return article.extraction_attempts, wait is None


def requeue_failed(session: Session, *, article_ids: Sequence[int] | None = None) -> int:
    """Put failed articles back in the queue (all of them, or those listed): a fresh start."""
    stmt = update(Article).where(Article.extraction_state == FAILED)
    if article_ids is not None:
        stmt = stmt.where(Article.id.in_(list(article_ids)))
    result = session.execute(
        stmt.values(
            extraction_state=PENDING,
            extraction_attempts=0,
            extraction_lease_until=None,
            extraction_queued_at=utcnow(),
        ).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueueState:
    pending: int
    failed: int
    oldest_queued_at: datetime | None

    def lag_seconds(self, now: datetime | None = None) -> float:
        """How long the oldest waiting article has waited (0 with none waiting)."""
        if self.oldest_queued_at is None:
            return 0.0
        return max(0.0, ((now or utcnow()) - self.oldest_queued_at).total_seconds())


def queue_state(session: Session) -> QueueState:
    pending_row = session.execute(
        select(func.count(), func.min(Article.extraction_queued_at)).where(
            Article.extraction_state == PENDING
        )
    ).one()
    failed = session.scalar(select(func.count()).where(Article.extraction_state == FAILED))
    return QueueState(int(pending_row[0] or 0), int(failed or 0), pending_row[1])


def states(session: Session, *, article_ids: Sequence[int]) -> dict[int, str]:
    """Each listed article's extraction state (`done` for one extracted in its ingest)."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(Article.id, Article.extraction_state).where(Article.id.in_(list(article_ids)))
    )
    return {article_id: state or DONE for article_id, state in rows}
