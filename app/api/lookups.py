"""Slugs and windows named in a request, resolved or answered with 422 naming the field."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.errors import InvalidInput, UnknownReference
from app.models import Topic
from app.store import actors as actor_store
from app.store import topics as topic_store


def require_topic(session: Session, slug: str) -> Topic:
    topic = topic_store.get_topic(session, slug=slug)
    if topic is None:
        raise UnknownReference("topic", slug, field="topic")
    return topic


def require_actor_ids(session: Session, slugs: list[str]) -> dict[str, int]:
    """slug -> id for every requested actor, in the order asked (duplicates dropped)."""
    wanted = list(dict.fromkeys(slugs))
    found = actor_store.ids_by_slug(session, slugs=wanted)
    for slug in wanted:
        if slug not in found:
            raise UnknownReference("actor", slug, field="actor")
    return {slug: found[slug] for slug in wanted}


def require_topic_ids(session: Session, slugs: list[str]) -> dict[str, int]:
    """slug -> id for every requested topic, in the order asked (duplicates dropped)."""
    wanted = list(dict.fromkeys(slugs))
    found = topic_store.ids_by_slug(session, slugs=wanted)
    for slug in wanted:
        if slug not in found:
            raise UnknownReference("topic", slug, field="topic")
    return {slug: found[slug] for slug in wanted}


def require_window(observed_from: datetime | None, observed_to: datetime | None) -> None:
    """A window [from, to) that holds an instant: `to` after `from` when both are given."""
    if observed_from is not None and observed_to is not None and observed_to <= observed_from:
        raise InvalidInput("'to' must be after 'from'", field="to")
