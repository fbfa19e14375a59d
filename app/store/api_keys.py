"""API key rows: add, look up by hash, list, revoke."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApiKey


def add_key(session: Session, *, name: str, prefix: str, key_hash: str, scope: str) -> ApiKey:
    key = ApiKey(name=name, prefix=prefix, key_hash=key_hash, scope=scope)
    session.add(key)
    session.flush()
    return key


def get_active_key(session: Session, *, key_hash: str) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    return session.scalars(stmt).one_or_none()


def get_key(session: Session, *, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


def revoke_key(session: Session, *, key: ApiKey, at: datetime) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = at
        session.flush()
    return key
