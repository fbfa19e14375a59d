"""Bad input gets a 4xx naming the field (and the limit, for a size), never a 500, and stores nothing;
text of any script comes back exactly as sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Actor, Article, Observation, Topic
from app.schemas import MAX_TEXT_CHARS
from tests.factories import article_payload

pytestmark = pytest.mark.usefixtures("starter_registry")

JSON = {"content-type": "application/json"}


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Article, Observation, Actor, Topic)
    )


def _stance(**overrides: Any) -> dict[str, Any]:
    return {
        "actor": "italy",
        "topic": "ground-troops-ukraine",
        "score": -1,
        "observed_at": "2025-03-06",
        "evidence": "Italy will not send troops.",
        **overrides,
    }


def _assert_refused(response: Any, field: str, status: int = 422) -> dict[str, Any]:
    """The response is `status` with the one error body, naming `field`."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["field"] == field, error
    assert error["code"]
    assert error["message"]
    return error


# --- malformed bodies and wrong types ---------------------------------------------------------


MALFORMED = [
    b"{not json",
    b'{"url": "https://example.org/a", "text": "x",',
    b"",
    b"\xff\xfe{}",  # not UTF-8
    b"[1, 2]",
    b'"a string"',
    b"null",
]


def test_malformed_body_is_a_422_naming_the_body(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    before = _counts(session)
    for body in MALFORMED:
        for path in ("/v1/articles", "/v1/articles/batch", "/v1/stances", "/v1/actors", "/v1/registry"):
            with subtests.test(body=body, path=path):
                _assert_refused(client.post(path, content=body, headers=JSON), "body")
    assert _counts(session) == before


ARTICLE_TYPE_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"text": 5}, "text"),
    ({"text": ["a"]}, "text"),
    ({"title": {"a": 1}}, "title"),
    ({"url": 123}, "url"),
    ({"published_at": True}, "published_at"),
    ({"published_at": [2025, 3, 26]}, "published_at"),
    ({"language": None}, "language"),
]
STANCE_TYPE_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"score": "high"}, "score"),
    ({"score": [0.5]}, "score"),
    ({"score": None}, "score"),
    ({"confidence": "sure"}, "confidence"),
    ({"shift": "maybe"}, "shift"),
    ({"article_id": "eleven"}, "article_id"),
    ({"actor": 7}, "actor"),
    ({"surprise": 1}, "surprise"),
]


def test_a_field_of_the_wrong_type_is_named(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    before = _counts(session)
    for change, field in ARTICLE_TYPE_ERRORS:
        with subtests.test(article=change):
            _assert_refused(client.post("/v1/articles", json={**article_payload(), **change}), field)
    for change, field in STANCE_TYPE_ERRORS:
        with subtests.test(stance=change):
            _assert_refused(client.post("/v1/stances", json=_stance(**change)), field)
    assert _counts(session) == before


# --- dates ------------------------------------------------------------------------------------


BAD_DATES = [
    "10000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",  # converting to UTC would leave the calendar
    "9999-12-31T23:59:59-01:00",
    "1799-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "2025-02-30T00:00:00Z",
    "2025-03-26T25:00:00Z",
    "2025-03-26T08:00:00+25:00",
    "2025-03-26T08:00:00",  # naive
    "26/03/2025",
    "",
]


def test_impossible_or_naive_dates_are_refused_naming_the_field(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    before = _counts(session)
    for value in BAD_DATES:
        with subtests.test(value=value):
            article = client.post("/v1/articles", json=article_payload(published_at=value))
            _assert_refused(article, "published_at")
            _assert_refused(client.post("/v1/stances", json=_stance(observed_at=value)), "observed_at")
            timeline = client.get("/v1/timelines", params={"topic": "ground-troops-ukraine", "from": value})
            _assert_refused(timeline, "from")
            _assert_refused(client.get("/v1/stances", params={"to": value}), "to")
    assert _counts(session) == before


def test_membership_dates_outside_the_calendar_range_are_refused(
    client: TestClient, session: Session
) -> None:
    before = _counts(session)
    actor = {"slug": "ancient", "name": "Ancient", "kind": "state"}
    for value in ("0001-01-01", "9999-12-31"):
        memberships = [{"parent": "europe", "from": value}]
        response = client.post("/v1/actors", json={**actor, "memberships": memberships})
        _assert_refused(response, "memberships[0].from")
    assert _counts(session) == before


def test_an_article_dated_at_the_edge_of_the_range_is_stored_and_served_in_timelines(
    client: TestClient,
) -> None:
    for stamp in ("1800-01-01T00:00:00Z", "2199-12-31T23:59:59Z"):
        response = client.post("/v1/articles", json=article_payload(published_at=stamp))
        assert response.status_code == 201, response.text
    timeline = client.get("/v1/timelines", params={"topic": "ground-troops-ukraine", "interval": "month"})
    assert timeline.status_code == 200, timeline.text


# --- unknown references, scores, empty text ---------------------------------------------------


UNKNOWN_REFERENCES: list[tuple[dict[str, Any], str, str]] = [
    ({"actor": "no-such-actor"}, "actor", "unknown_actor"),
    ({"topic": "no-such-topic"}, "topic", "unknown_topic"),
    ({"article_id": 999_999}, "article_id", "unknown_article"),
    ({"actor": "Not A Slug"}, "actor", "validation_error"),
]


def test_unknown_slugs_in_a_body_are_422_naming_the_field(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    before = _counts(session)
    for change, field, code in UNKNOWN_REFERENCES:
        with subtests.test(change=change):
            error = _assert_refused(client.post("/v1/stances", json=_stance(**change)), field)
            assert error["code"] == code
    assert _counts(session) == before


def test_unknown_slugs_in_a_query_are_422_naming_the_parameter(client: TestClient) -> None:
    topic = client.get("/v1/timelines", params={"topic": "no-such-topic"})
    assert _assert_refused(topic, "topic")["code"] == "unknown_topic"
    actor = client.get("/v1/timelines", params={"topic": "ground-troops-ukraine", "actor": "no-such-actor"})
    assert _assert_refused(actor, "actor")["code"] == "unknown_actor"
    parent = client.post(
        "/v1/actors",
        json={"slug": "orphan", "name": "Orphan", "kind": "state", "memberships": [{"parent": "nowhere"}]},
    )
    assert _assert_refused(parent, "memberships[0].parent")["code"] == "unknown_actor"


def test_scores_outside_minus_one_to_one_or_not_finite_are_refused(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    before = _counts(session)
    for score in ("1.0000001", "-1.5", "2", "-100", "1e308", "1e999", "NaN", "Infinity", "-Infinity"):
        with subtests.test(score=score):
            # Python's JSON parser reads NaN and Infinity; the score must still be a finite number
            body = json.dumps(_stance()).replace('"score": -1', f'"score": {score}')
            _assert_refused(client.post("/v1/stances", content=body, headers=JSON), "score")
            confidence = body.replace(f'"score": {score}', f'"score": 0.5, "confidence": {score}')
            _assert_refused(client.post("/v1/stances", content=confidence, headers=JSON), "confidence")
    assert _counts(session) == before


def test_review_with_a_score_outside_the_range_leaves_the_observation_as_it_was(client: TestClient) -> None:
    created = client.post("/v1/stances", json=_stance()).json()
    for change, field in (({"score": 1.5}, "score"), ({"status": "deleted"}, "status"), ({"x": 1}, "x")):
        _assert_refused(client.patch(f"/v1/stances/{created['id']}", json=change), field)
    after = client.get(f"/v1/stances/{created['id']}").json()
    assert (after["score"], after["status"], after["updated_at"]) == (-1.0, "verified", created["updated_at"])


def test_empty_or_blank_text_is_refused(client: TestClient, session: Session) -> None:
    before = _counts(session)
    for text in ("", " ", "\n\t  \r\n"):
        _assert_refused(client.post("/v1/articles", json=article_payload(text=text)), "text")
    assert _counts(session) == before


# --- ids and cursors the client made up -------------------------------------------------------


def test_ids_no_row_can_have_are_refused_naming_the_parameter(client: TestClient) -> None:
    for value in (str(2**63), "-1", "0", "1e3", "abc"):
        _assert_refused(client.get(f"/v1/articles/{value}"), "article_id")
        _assert_refused(client.get(f"/v1/stances/{value}"), "observation_id")
        _assert_refused(client.patch(f"/v1/stances/{value}", json={"status": "verified"}), "observation_id")


FORGED_CURSOR_KEYS: list[list[Any]] = [
    ["2025-01-01T00:00:00+00:00", 2**70],
    ["2025-01-01T00:00:00+00:00", "abc"],
    ["2025-01-01T00:00:00+00:00", [1]],
    ["2025-01-01T00:00:00+00:00", 1.5],
    ["2025-01-01T00:00:00", 1],  # naive
    [20250101, 1],
    ["2025-01-01T00:00:00+00:00"],
]


def test_forged_cursors_are_refused(client: TestClient, subtests: pytest.Subtests) -> None:
    for key in FORGED_CURSOR_KEYS:
        cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
        for path in ("/v1/articles", "/v1/stances"):
            with subtests.test(key=key, path=path):
                _assert_refused(client.get(path, params={"cursor": cursor}), "cursor")


def test_nul_in_a_query_or_path_is_refused_on_every_engine(client: TestClient) -> None:
    _assert_refused(client.get("/v1/articles", params={"source": "Wire\x00"}), "source")
    _assert_refused(client.get("/v1/actors", params={"q": "\x00"}), "q")
    _assert_refused(client.get("/v1/actors/a%00b"), "slug")
    _assert_refused(client.get("/v1/topics/a%00b/timeline"), "slug")


def test_a_stance_filter_on_an_article_id_past_64_bits_is_refused(client: TestClient) -> None:
    _assert_refused(client.get("/v1/stances", params={"article": 2**64}), "article")


# --- size limits ------------------------------------------------------------------------------

ARTICLE_LIMITS = [("url", 2048), ("external_id", 512), ("title", 2000), ("source", 200), ("language", 16)]


def test_too_long_article_fields_are_refused_naming_field_and_limit(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    for field, limit in ARTICLE_LIMITS:
        with subtests.test(field=field):
            at_limit = client.post("/v1/articles", json=article_payload(**{field: "x" * limit}))
            assert at_limit.status_code == 201, at_limit.text
            before = _counts(session)
            over = client.post("/v1/articles", json=article_payload(**{field: "y" * (limit + 1)}))
            error = _assert_refused(over, field)
            assert str(limit) in error["message"]
            assert error["details"][0]["limit"] == limit
            assert _counts(session) == before


def test_too_long_article_text_is_refused_naming_the_limit(client: TestClient, session: Session) -> None:
    before = _counts(session)
    too_long = article_payload(text="a" * (MAX_TEXT_CHARS + 1))
    error = _assert_refused(client.post("/v1/articles", json=too_long), "text")
    assert error["details"][0]["limit"] == MAX_TEXT_CHARS
    assert _counts(session) == before


TOO_LONG: list[tuple[str, dict[str, Any], str, int]] = [
    ("/v1/stances", _stance(evidence="e" * 10_001), "evidence", 10_000),
    ("/v1/stances", _stance(speaker="s" * 301), "speaker", 300),
    ("/v1/stances", _stance(note="n" * 10_001), "note", 10_000),
    ("/v1/actors", {"slug": "a", "name": "n" * 301, "kind": "state"}, "name", 300),
    ("/v1/actors", {"slug": "a" * 201, "name": "A", "kind": "state"}, "slug", 200),
    ("/v1/actors", {"slug": "a", "name": "A", "kind": "state", "aliases": ["x" * 301]}, "aliases[0]", 300),
    (
        "/v1/actors",
        {"slug": "a", "name": "A", "kind": "state", "description": "d" * 10_001},
        "description",
        10_000,
    ),
    (
        "/v1/actors",
        {"slug": "a", "name": "A", "kind": "state", "memberships": [{"parent": "europe", "role": "r" * 201}]},
        "memberships[0].role",
        200,
    ),
    ("/v1/topics", {"slug": "t", "name": "T", "keywords": ["k" * 301]}, "keywords[0]", 300),
    ("/v1/topics", {"slug": "t", "name": "T", "examples": ["e" * 2001]}, "examples[0]", 2000),
    ("/v1/topics", {"slug": "t", "name": "T", "description": "d" * 10_001}, "description", 10_000),
    ("/v1/actors", {"slug": "a", "name": "A", "kind": "state", "aliases": ["x"] * 501}, "aliases", 500),
]


def test_too_long_strings_and_lists_are_refused_naming_field_and_limit(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    before = _counts(session)
    for path, body, field, limit in TOO_LONG:
        with subtests.test(path=path, field=field):
            error = _assert_refused(client.post(path, json=body), field)
            assert str(limit) in error["message"]
            assert error["details"][0]["limit"] == limit
    assert _counts(session) == before


def test_a_too_long_field_in_a_batch_item_is_that_item_s_error(client: TestClient, session: Session) -> None:
    items = [article_payload(), article_payload(title="t" * 2001)]
    results = client.post("/v1/articles/batch", json={"articles": items}).json()["results"]
    assert [r["status"] for r in results] == ["created", "error"]
    assert results[1]["error"]["field"] == "articles[1].title"
    assert "2000" in results[1]["error"]["message"]
    assert _counts(session)[0] == 1


def test_batch_longer_than_the_setting_is_refused_naming_the_limit(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"batch_max_articles": 3})
    before = _counts(session)
    response = client.post("/v1/articles/batch", json={"articles": [article_payload() for _ in range(4)]})
    error = _assert_refused(response, "articles")
    assert error["code"] == "limit_exceeded"
    assert error["details"] == {"limit": 3}
    assert "3" in error["message"]
    assert _counts(session) == before
    accepted = client.post("/v1/articles/batch", json={"articles": [article_payload() for _ in range(3)]})
    assert [r["status"] for r in accepted.json()["results"]] == ["created"] * 3


def test_a_timeline_window_of_more_buckets_than_the_setting_is_refused(
    app: FastAPI, client: TestClient
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"timeline_max_buckets": 10})
    window = {"topic": "ground-troops-ukraine", "from": "2025-01-01", "to": "2025-03-01"}
    for path, params in (
        ("/v1/timelines", window),
        ("/v1/timelines", {**window, "rollup": "true", "actor": "europe"}),
        ("/v1/topics/ground-troops-ukraine/timeline", window),
        ("/v1/compare", {**window, "actor": ["france", "russia"]}),
    ):
        error = _assert_refused(client.get(path, params={**params, "interval": "day"}), "interval")
        assert (error["code"], error["details"]) == ("limit_exceeded", {"limit": 10})
        assert client.get(path, params={**params, "interval": "month"}).status_code == 200


def _too_large(response: Any, limit: int) -> None:
    error = _assert_refused(response, "body", status=413)
    assert error["code"] == "request_too_large"
    assert error["details"] == {"limit": limit}
    assert str(limit) in error["message"]


def test_a_body_over_the_limit_is_413_naming_the_limit(
    client: TestClient, session: Session, settings: Any
) -> None:
    limit = settings.max_body_bytes
    before = _counts(session)
    padding = "x" * (limit - 50)
    body = json.dumps({"articles": [article_payload(text=padding), article_payload()]}).encode()
    assert len(body) > limit
    _too_large(client.post("/v1/articles/batch", content=body, headers=JSON), limit)
    assert _counts(session) == before


def test_a_streamed_body_over_the_limit_is_413_though_it_declares_no_length(
    client: TestClient, session: Session, settings: Any
) -> None:
    limit = settings.max_body_bytes
    chunk = b" " * (1024 * 1024)

    def chunks() -> Iterator[bytes]:
        yield b'{"articles": []'
        for _ in range(limit // len(chunk) + 1):
            yield chunk
        yield b"}"

    before = _counts(session)
    _too_large(client.post("/v1/articles/batch", content=chunks(), headers=JSON), limit)
    assert _counts(session) == before


# --- unicode ----------------------------------------------------------------------------------

UNICODE = {
    "arabic": "قال الرئيس إن القوات لن تُرسل إلى أوكرانيا",
    "hebrew_points_and_marks": "\u200fשָׁלוֹם עוֹלָם\u200f",  # noqa: RUF001 - letters that look Latin are the point
    "bidi_overrides": "abc \u202edcba\u202c \u2067isolate\u2069",
    "emoji_zwj_and_skin_tones": "👩\u200d👩\u200d👧\u200d👦 🏳\ufe0f\u200d🌈 👍🏽",
    "flags": "🇺🇦🇫🇷🇪🇺🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "combining_marks": "e\u0301 Z\u0351\u0300\u0317a\u0346l\u0315go",
    "nfc_and_nfd_kept_apart": "caf\u00e9 cafe\u0301",
    "astral_planes": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 \U0010fffd",  # noqa: RUF001
    "invisible": "\ufeffBOM\u200bzero\u2060width\u00adsoft",
    "line_separators": "line\u2028para\u2029end",
    "controls": "tab\there\r\nbell\x07esc\x1b\x7f",
    "noncharacters_and_private_use": "\ufffe\uffff\ue000\U000f0000",
}


def test_unicode_of_every_kind_round_trips_exactly(client: TestClient, subtests: pytest.Subtests) -> None:
    for index, (kind, sample) in enumerate(UNICODE.items()):
        with subtests.test(kind=kind):
            _round_trip(client, sample, f"unicode-{index}")


def _round_trip(client: TestClient, sample: str, slug: str) -> None:
    # stripped fields get the sample inside brackets, so only the outer whitespace could go
    wrapped = f"[{sample}]"
    text = f"European leaders said {sample} they would not send ground troops to Ukraine."
    posted = client.post("/v1/articles", json=article_payload(title=sample, text=text, source=wrapped))
    assert posted.status_code == 201, posted.text
    article = client.get(f"/v1/articles/{posted.json()['article_id']}").json()
    assert (article["title"], article["text"], article["source"]) == (sample, text, wrapped)
    listed = client.get("/v1/articles", params={"source": wrapped}).json()["items"]
    assert [a["id"] for a in listed] == [article["id"]]

    stance = client.post("/v1/stances", json=_stance(evidence=sample, speaker=sample, note=sample))
    assert stance.status_code == 201, stance.text
    read = client.get(f"/v1/stances/{stance.json()['id']}").json()
    assert (read["evidence"], read["speaker"], read["note"]) == (sample, sample, sample)

    actor = {"slug": slug, "name": wrapped, "kind": "person", "aliases": [wrapped], "description": sample}
    assert client.post("/v1/actors", json=actor).status_code == 201
    stored = client.get(f"/v1/actors/{slug}").json()
    assert (stored["name"], stored["aliases"], stored["description"]) == (wrapped, [wrapped], sample)


def test_an_escaped_surrogate_pair_is_one_character(client: TestClient) -> None:
    body = json.dumps(_stance(evidence="grin")).replace("grin", "\\ud83d\\ude00")
    created = client.post("/v1/stances", content=body, headers=JSON)
    assert created.status_code == 201, created.text
    assert created.json()["evidence"] == "\U0001f600"


REFUSED_ESCAPES = ["\\ud800", "\\udfff", "\\udc00\\ud800", "a\\ud83d", "\\u0000"]
MARKED_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("/v1/articles", article_payload(title="MARK"), "title"),
    ("/v1/articles", article_payload(text="Troops MARK"), "text"),
    ("/v1/articles", article_payload(source="MARK"), "source"),
    ("/v1/stances", _stance(evidence="MARK"), "evidence"),
    ("/v1/stances", _stance(speaker="MARK"), "speaker"),
    ("/v1/actors", {"slug": "s", "name": "MARK", "kind": "state"}, "name"),
    ("/v1/actors", {"slug": "s", "name": "S", "kind": "state", "aliases": ["ok", "MARK"]}, "aliases[1]"),
    ("/v1/topics", {"slug": "t", "name": "T", "keywords": ["MARK"]}, "keywords[0]"),
    ("/v1/topics", {"slug": "t", "name": "T", "examples": ["MARK"]}, "examples[0]"),
]


def test_lone_surrogates_and_nul_are_refused_naming_the_field(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    before = _counts(session)
    for path, body, field in MARKED_FIELDS:
        for escape in REFUSED_ESCAPES:
            with subtests.test(field=field, escape=escape):
                raw = json.dumps(body).replace("MARK", escape)
                _assert_refused(client.post(path, content=raw.encode(), headers=JSON), field)
    assert _counts(session) == before


def test_a_surrogate_sent_as_raw_bytes_is_refused_naming_the_field(
    client: TestClient, session: Session
) -> None:
    """Python's JSON parser decodes UTF-8-encoded surrogates (not valid UTF-8) instead of failing."""
    before = _counts(session)
    raw = json.dumps(article_payload(text="Troops MARK")).encode().replace(b"MARK", b"\xed\xa0\x80")
    _assert_refused(client.post("/v1/articles", content=raw, headers=JSON), "text")
    assert _counts(session) == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(), min_size=1, max_size=60))
def test_any_text_is_stored_exactly_or_refused_with_422(client: TestClient, text: str) -> None:
    """Every code point, surrogates and NUL included, sent as JSON escapes: what JSON means by the
    text either comes back exactly or is refused (422, naming the field) when it holds a NUL or a
    lone surrogate."""
    # a text that names no actor: nothing is extracted, so each example costs one insert
    body = json.dumps(article_payload(title=text, text="Nothing to see."), ensure_ascii=True)
    meant = json.loads(body)["title"]
    storable = "\x00" not in meant and not any(0xD800 <= ord(c) <= 0xDFFF for c in meant)
    response = client.post("/v1/articles", content=body.encode(), headers=JSON)
    if not storable:
        _assert_refused(response, "title")
        return
    assert response.status_code == 201, response.text
    assert client.get(f"/v1/articles/{response.json()['article_id']}").json()["title"] == meant
