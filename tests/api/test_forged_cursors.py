"""A page cursor the client made up gets 422 naming `cursor` on every engine, never a 500: bad
base64, bad JSON, wrong types, timestamps a datetime cannot hold once in UTC, ids past 2**63."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.pagination import encode_cursor
from tests.factories import make_actor, make_article, make_observation, make_topic

PATHS = ("/v1/articles", "/v1/stances")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


FORGED: dict[str, str] = {
    "not base64": "%%%",
    "not ascii": "é",
    "base64 of bad JSON": _b64(b'["2025-01-01T00:00:00+00:00", 1'),
    "base64 of bytes that are not UTF-8": _b64(b"\xff\xfe\xfd"),
    "a JSON object": _b64(b'{"at": "2025-01-01T00:00:00+00:00", "id": 1}'),
    "a JSON string": _b64(b'"2025-01-01T00:00:00+00:00"'),
    "one part": encode_cursor("2025-01-01T00:00:00+00:00"),
    "three parts": encode_cursor("2025-01-01T00:00:00+00:00", 1, 2),
    "a number for the time": encode_cursor(20250101, 1),
    "a negative epoch for the time": encode_cursor(-86_400, 1),
    "null parts": encode_cursor(None, None),
    "a string id": encode_cursor("2025-01-01T00:00:00+00:00", "1"),
    "a float id": encode_cursor("2025-01-01T00:00:00+00:00", 1.5),
    "a boolean id": encode_cursor("2025-01-01T00:00:00+00:00", True),
    "a negative id": encode_cursor("2025-01-01T00:00:00+00:00", -1),
    "an id of 2**63": encode_cursor("2025-01-01T00:00:00+00:00", 2**63),
    "an id of 2**64 - 1": encode_cursor("2025-01-01T00:00:00+00:00", 2**64 - 1),
    "an id past 64 bits": _b64(b'["2025-01-01T00:00:00+00:00", 123456789012345678901234567890]'),
    "a huge float": _b64(b'["2025-01-01T00:00:00+00:00", 1e999]'),
    "year 99999": encode_cursor("99999-01-01T00:00:00+00:00", 1),
    "year 0": encode_cursor("0000-01-01T00:00:00+00:00", 1),
    "year -1": encode_cursor("-0001-01-01T00:00:00+00:00", 1),
    "past year 9999 in UTC": encode_cursor("9999-12-31T23:59:59-23:59", 1),
    "before year 1 in UTC": encode_cursor("0001-01-01T00:00:00+23:59", 1),
    "an offset of a day": encode_cursor("2025-01-01T00:00:00+24:00", 1),
    "no offset": encode_cursor("2025-01-01T00:00:00", 1),
    "a leap second": encode_cursor("2016-12-31T23:59:60+00:00", 1),
    "not a time": encode_cursor("yesterday", 1),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", list(FORGED))
def test_forged_cursor_is_refused_naming_the_cursor(client: TestClient, path: str, name: str) -> None:
    response = client.get(path, params={"cursor": FORGED[name]})
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", "cursor")
    assert error["message"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "key",
    [
        ("0001-01-01T00:00:00+00:00", 0),  # the smallest key: every row follows it
        ("9999-12-31T23:59:59.999999+00:00", 2**63 - 1),  # the largest: no row follows it
        ("9999-12-31T23:59:59+23:59", 1),  # a time far out whose UTC is still a datetime
    ],
)
def test_extreme_keys_a_datetime_can_hold_are_answered(
    client: TestClient, session: Session, path: str, key: tuple[str, int]
) -> None:
    make_article(session)
    make_observation(
        session, actor=make_actor(session, "cursor-actor"), topic=make_topic(session, "cursor-t")
    )
    session.commit()
    response = client.get(path, params={"cursor": encode_cursor(*key), "limit": 1})
    assert response.status_code == 200, response.text
    assert bool(response.json()["items"]) is (key[1] == 0)


def test_an_issued_cursor_with_an_offset_pages_on(client: TestClient, session: Session) -> None:
    actor, topic = make_actor(session, "cursor-pager"), make_topic(session, "cursor-pages")
    ids = [make_observation(session, actor=actor, topic=topic, score=-0.5).id for _ in range(3)]
    session.commit()
    params: dict[str, Any] = {"topic": "cursor-pages", "limit": 2}
    first = client.get("/v1/stances", params=params).json()
    assert [item["id"] for item in first["items"]] == ids[:2]
    # the same key written with another offset is the same instant
    same = encode_cursor("2025-03-26T01:00:00+01:00", ids[1])
    for cursor in (first["next_cursor"], same):
        second = client.get("/v1/stances", params={**params, "cursor": cursor}).json()
        assert [item["id"] for item in second["items"]] == ids[2:]
