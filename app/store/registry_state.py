from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import RegistryRevision, utcnow


def get_registry_revision(session: Session) -> int:
    return int(session.scalar(select(RegistryRevision.revision).where(RegistryRevision.id == 1)) or 0)


def lock_registry(session: Session) -> None:
    """Take the registry's write lock (its revision row, FOR UPDATE) until the transaction ends.

    Registry writes read what is stored (an actor's lists, the slugs an import upserts, the topic
    tree) and then write: holding this first makes them take turns, so each one reads what the
    previous one committed. On SQLite, where writers already take turns, it is a plain read.
    """
    session.execute(select(RegistryRevision.id).where(RegistryRevision.id == 1).with_for_update())


def bump_registry_revision(session: Session) -> None:
    """Mark the registry changed; runs in the writer's transaction, so readers see it with the change."""
    session.execute(
        update(RegistryRevision)
        .where(RegistryRevision.id == 1)
        .values(revision=RegistryRevision.revision + 1, updated_at=utcnow())
    )
