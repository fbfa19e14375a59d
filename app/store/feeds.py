"""Feeds: registration, the due list, and claiming a feed for one poll."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import Feed


def get_feed(session: Session, *, feed_id: int) -> Feed | None:
    return session.get(Feed, feed_id, populate_existing=True)


def get_feed_by_url(session: Session, *, url: str) -> Feed | None:
    return session.scalars(select(Feed).where(Feed.url == url)).one_or_none()


def list_feeds(session: Session, *, after_id: int = 0, limit: int) -> list[Feed]:
    stmt = select(Feed).where(Feed.id > after_id).order_by(Feed.id).limit(limit)
    return list(session.scalars(stmt))


def delete_feed(session: Session, *, feed_id: int) -> bool:
    result = session.execute(
        delete(Feed).where(Feed.id == feed_id).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_due_feed_ids(session: Session, *, now: datetime, limit: int) -> list[tuple[int, datetime]]:
    """Active feeds whose next poll is due, longest-waiting first, with the due time seen."""
    stmt = (
        select(Feed.id, Feed.next_poll_at)
        .where(Feed.active.is_(True), Feed.next_poll_at <= now)
        .order_by(Feed.next_poll_at, Feed.id)
        .limit(limit)
    )
    return [(int(feed_id), due) for feed_id, due in session.execute(stmt)]


def claim_feed(session: Session, *, feed_id: int, seen_due: datetime, lease_until: datetime) -> bool:
    """Take a due feed for one poll: its next poll moves to `lease_until`, so no other process
    polls it meanwhile, and a poller that dies hands it back when the lease ends. False when
    another process claimed it first (its due time moved)."""
    stmt = (
        update(Feed)
        .where(Feed.id == feed_id, Feed.next_poll_at == seen_due)
        .values(next_poll_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def make_all_due(session: Session, *, now: datetime) -> None:
    session.execute(
        update(Feed)
        .where(Feed.active.is_(True))
        .values(next_poll_at=now)
        .execution_options(synchronize_session=False)
    )
