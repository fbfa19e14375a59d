from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import RegistryRevision, utcnow


def get_registry_revision(session: Session) -> int:
    return int(session.scalar(select(RegistryRevision.revision).where(RegistryRevision.id == 1)) or 0)


def bump_registry_revision(session: Session) -> None:
    """Mark the registry changed; runs in the writer's transaction, so readers see it with the change."""
    session.execute(
        update(RegistryRevision)
        .where(RegistryRevision.id == 1)
        .values(revision=RegistryRevision.revision + 1, updated_at=utcnow())
    )
