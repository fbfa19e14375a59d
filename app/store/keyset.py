from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute


def after_key(
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], key: tuple[Any, Any]
) -> ColumnElement[bool]:
    """Rows strictly after `key` in (first, second) order.

    Spelled out instead of a row-value comparison so each value binds through its
    column's type (UTC datetimes are stored differently on SQLite and PostgreSQL).
    """
    return or_(first > key[0], and_(first == key[0], second > key[1]))
