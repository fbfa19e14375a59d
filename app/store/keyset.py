from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, and_, literal, or_
from sqlalchemy.orm import InstrumentedAttribute


def after_key(
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], key: tuple[Any, Any]
) -> ColumnElement[bool]:
    """Rows strictly after `key` in (first, second) order.

    Spelled out instead of a row-value comparison so each value binds through its
    column's type (UTC datetimes are stored differently on SQLite and PostgreSQL). An integer
    id binds as a 64-bit integer: a cursor may carry any id up to 2**63 - 1, past what a 32-bit
    PostgreSQL id column can hold (the comparison still uses the column's index).
    """
    last: Any = key[1]
    if isinstance(second.type, Integer) and not isinstance(second.type, BigInteger):
        last = literal(key[1], BigInteger())
    return or_(first > key[0], and_(first == key[0], second > last))
