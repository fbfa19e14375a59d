"""One column's values keyed by another, for a set of keys: how slugs, ids and names are
translated in bulk (one query however many keys, none for no keys)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

K = TypeVar("K")
V = TypeVar("V")


def values_by_key(
    session: Session, key: InstrumentedAttribute[K], value: InstrumentedAttribute[V], keys: Iterable[K]
) -> dict[K, V]:
    """`value` for each of `keys` stored in `key`; a key with no row is left out."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = session.execute(select(key, value).where(key.in_(wanted)))
    return dict(rows.all())
