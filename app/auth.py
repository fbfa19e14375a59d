"""API keys and scopes.

A key is `sl_` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored: the
plain key is shown once, at creation. Scopes are ordered (`read` < `write` < `admin`): a key
holds its scope and every one below it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from app.models import SCOPES, ApiKey
from app.store import api_keys as key_store

KEY_PREFIX = "sl_"
_SHOWN = 10  # characters of the key kept in listings to tell keys apart


def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def strongest(scopes: Sequence[str]) -> str:
    """The highest of the given scopes (a key holds one level; `write` implies `read`)."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(
            f"scope must be one of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}", field="scope"
        )
    return max(scopes, key=SCOPES.index)


def create_key(session: Session, *, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
    """A new key: the stored row and the plain key (its only appearance)."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = key_store.add_key(
        session, name=name, prefix=plain[:_SHOWN], key_hash=hash_key(plain), scope=strongest(scopes)
    )
    return key, plain


def revoke_key(session: Session, *, key_id: int) -> ApiKey:
    key = key_store.get_key(session, key_id=key_id)
    if key is None:
        raise NotFound("api_key", key_id, field="key_id")
    return key_store.revoke_key(session, key=key, at=datetime.now(UTC))


def grants(held: str, needed: str) -> bool:
    return SCOPES.index(held) >= SCOPES.index(needed)


def authorize(session: Session, *, plain: str | None, needed: str) -> ApiKey:
    """The active key behind `plain` if it holds `needed`; 401 without a valid key, 403 without the scope."""
    if not plain:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'")
    key = key_store.get_active_key(session, key_hash=hash_key(plain))
    if key is None:
        raise Unauthorized("the API key is unknown or revoked")
    if not grants(key.scope, needed):
        raise Forbidden(f"this request needs an API key with the {needed!r} scope; the key has {key.scope!r}")
    return key
