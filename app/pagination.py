"""Keyset pagination: an opaque cursor holding the last row's sort key."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import Query

from app.errors import InvalidInput

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000)")]
CursorParam = Annotated[str | None, Query(description="Opaque cursor from the previous page's `next_cursor`")]


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError) as error:
        raise InvalidInput("cursor is not one this service issued", field="cursor") from error
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidInput("cursor is not one this service issued", field="cursor")
    return key
