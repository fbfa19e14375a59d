"""Keyset pagination: an opaque cursor holding the last row's sort key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Query

from app.errors import InvalidInput
from app.schemas import MAX_ID

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000)")]
CursorParam = Annotated[str | None, Query(description="Opaque cursor from the previous page's `next_cursor`")]


def _forged() -> InvalidInput:
    return InvalidInput("cursor is not one this service issued", field="cursor")


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError) as error:
        raise _forged() from error
    if not isinstance(key, list) or len(key) != arity:
        raise _forged()
    return key


def decode_id_cursor(cursor: str) -> int:
    """The row id a page cursor of `encode_cursor(id)` holds (0 is the start), checked."""
    (last_id,) = decode_cursor(cursor, 1)
    if type(last_id) is not int or not 0 <= last_id <= MAX_ID:
        raise _forged()
    return last_id


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    """The (UTC timestamp, id) a page cursor of `encode_cursor(stamp.isoformat(), id)` holds.

    The client can send anything, so every part is checked here, before it reaches SQL: an ISO
    timestamp with an offset whose UTC time a datetime can hold (`9999-12-31T23:59:59-23:59` is
    past year 9999 in UTC) and an id a row can have (1 to 2**63 - 1; 0 is the start).
    """
    stamp, last_id = decode_cursor(cursor, 2)
    return _time_key(stamp, last_id)


def decode_ranked_time_cursor(cursor: str) -> tuple[float, datetime, int]:
    """The (rank in [0, 1], UTC timestamp, id) a cursor of `encode_cursor(rank, stamp.isoformat(),
    id)` holds: a page of rows ordered by a computed rank first (the review queue's uncertainty),
    then by time and id. Every part is checked as `decode_time_cursor` checks its two."""
    rank, stamp, last_id = decode_cursor(cursor, 3)
    if type(rank) not in (int, float) or not 0 <= rank <= 1:
        raise _forged()
    return float(rank), *_time_key(stamp, last_id)


def _time_key(stamp: Any, last_id: Any) -> tuple[datetime, int]:
    if not isinstance(stamp, str) or type(last_id) is not int or not 0 <= last_id <= MAX_ID:
        raise _forged()
    try:
        after = datetime.fromisoformat(stamp)
        if after.tzinfo is None:
            raise ValueError("naive timestamp")
        return after.astimezone(UTC), last_id
    except (ValueError, OverflowError) as error:
        raise _forged() from error
