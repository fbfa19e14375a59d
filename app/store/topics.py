from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.models import Topic
from app.store.lookups import values_by_key


def get_topic(session: Session, *, slug: str) -> Topic | None:
    stmt = select(Topic).options(joinedload(Topic.parent)).where(Topic.slug == slug)
    return session.scalars(stmt).one_or_none()


def list_topics(session: Session, *, after_slug: str | None = None, limit: int) -> list[Topic]:
    stmt = select(Topic).options(joinedload(Topic.parent)).order_by(Topic.slug).limit(limit)
    if after_slug is not None:
        stmt = stmt.where(Topic.slug > after_slug)
    return list(session.scalars(stmt))


def list_all_topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).options(joinedload(Topic.parent)).order_by(Topic.id)))


def ids_by_slug(session: Session, *, slugs: Iterable[str]) -> dict[str, int]:
    return values_by_key(session, Topic.slug, Topic.id, slugs)
