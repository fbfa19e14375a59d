from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Actor, ActorMembership
from app.store.lookups import values_by_key


def _with_children() -> tuple[object, ...]:
    return (
        selectinload(Actor.aliases),
        selectinload(Actor.memberships).joinedload(ActorMembership.parent),
    )


def get_actor(session: Session, *, slug: str, with_children: bool = True) -> Actor | None:
    stmt = select(Actor).where(Actor.slug == slug)
    if with_children:
        stmt = stmt.options(*_with_children())  # type: ignore[arg-type]
    return session.scalars(stmt).one_or_none()


def list_actors(
    session: Session,
    *,
    kind: str | None = None,
    q: str | None = None,
    after_slug: str | None = None,
    limit: int,
) -> list[Actor]:
    stmt = select(Actor).options(*_with_children()).order_by(Actor.slug).limit(limit)  # type: ignore[arg-type]
    if kind:
        stmt = stmt.where(Actor.kind == kind)
    if q:
        # the user's text is matched literally: % and _ are not wildcards here
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(Actor.name.ilike(pattern, escape="\\") | Actor.slug.ilike(pattern, escape="\\"))
    if after_slug is not None:
        stmt = stmt.where(Actor.slug > after_slug)
    return list(session.scalars(stmt))


def list_all_actors(session: Session) -> list[Actor]:
    stmt = select(Actor).options(*_with_children()).order_by(Actor.id)  # type: ignore[arg-type]
    return list(session.scalars(stmt))


def ids_by_slug(session: Session, *, slugs: Iterable[str]) -> dict[str, int]:
    return values_by_key(session, Actor.slug, Actor.id, slugs)


def names_by_slug(session: Session, *, slugs: Iterable[str]) -> dict[str, str]:
    return values_by_key(session, Actor.slug, Actor.name, slugs)


def slugs_by_id(session: Session, *, ids: Iterable[int]) -> dict[int, str]:
    return values_by_key(session, Actor.id, Actor.slug, ids)
