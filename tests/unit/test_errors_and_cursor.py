from __future__ import annotations

import pytest

from app.errors import InvalidInput, field_path
from app.pagination import decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", "articles", 0, "text"), "articles[0].text"),
        (("query", "from"), "from"),
        (("body",), "body"),
        ((), "body"),
    ],
)
def test_field_path(loc: tuple[int | str, ...], expected: str) -> None:
    assert field_path(loc) == expected


def test_cursor_round_trip_and_tamper() -> None:
    cursor = encode_cursor("2025-03-26T00:00:00+00:00", 42)
    assert decode_cursor(cursor, 2) == ["2025-03-26T00:00:00+00:00", 42]
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, 1)
    with pytest.raises(InvalidInput):
        decode_cursor("%%%", 2)
