"""Error answers that name what is wrong, in the right order, on both engines; and the default
timeline window, which follows the recent data instead of refusing it.

* a body the JSON parser gives up on (nested too deeply, an integer past Python's digit limit) is
  a 422 naming `body`, like any other malformed JSON;
* the API key is checked before the body: no key is a 401, a key without the scope a 403,
  whatever the body;
* a NUL in a slug in the URL is a 422 naming `slug` on every engine; other unknown slugs a 404;
* unknown actor and topic slugs in a query are a 422 naming `actor` / `topic` on every list;
* a window whose `to` is not after its `from` is a 422 naming `to`;
* 405 names the allowed methods in `Allow`;
* one observation dated 1800-01-01 leaves the default timeline on the recent buckets; only an
  explicit `from` that wide is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import auth
from app.models import ApiKey, Article, Observation
from app.timelines.levels import RECENT_BUCKETS

pytestmark = pytest.mark.usefixtures("starter_registry")

TOPIC = "ground-troops-ukraine"
JSON = {"content-type": "application/json"}


def _assert_refused(response: Any, field: str | None, status: int = 422, code: str | None = None) -> Any:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def _stored(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Article, Observation, ApiKey)
    )


def _code(client: TestClient, actor: str, day: str, score: float = -1.0) -> int:
    response = client.post(
        "/v1/stances",
        json={"actor": actor, "topic": TOPIC, "score": score, "observed_at": day, "evidence": "It said so."},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


# --- bodies the JSON parser gives up on ---------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
HUGE_INTEGER = b'{"score": ' + b"9" * 5_000 + b"}"
UNREADABLE = {"deep array": DEEP, "deep object": DEEP_OBJECT, "huge integer": HUGE_INTEGER}
# more malformed bodies, already a 422 naming `body` with a key (tests/api/test_bad_input.py)
MALFORMED = {
    **UNREADABLE,
    "syntax": b"{not json",
    "not UTF-8": b"\xff\xfe{}",
    "empty": b"",
    "array": b"[1, 2]",
}


def _body_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every operation that takes a JSON body, path parameters filled with 1."""
    out = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                filled = "/".join("1" if part.startswith("{") else part for part in path.split("/"))
                out.append((method.upper(), filled))
    return out


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_a_body_the_parser_gives_up_on_is_a_422_naming_the_body(
    client: TestClient, session: Session, name: str
) -> None:
    before = _stored(session)
    for path in ("/v1/articles", "/v1/articles/batch", "/v1/stances", "/v1/registry"):
        error = _assert_refused(
            client.post(path, content=UNREADABLE[name], headers=JSON), "body", code="validation_error"
        )
        assert error["details"][0]["field"] == "body"
        assert error["details"][0]["type"] == "json_invalid"
    assert _stored(session) == before


def test_without_a_key_every_write_is_a_401_whatever_its_body(
    app: FastAPI, anonymous_client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    operations = _body_operations(app)
    assert ("PATCH", "/v1/stances/1") in operations
    assert ("POST", "/v1/articles/batch") in operations
    before = _stored(session)
    for method, path in operations:
        for name, body in MALFORMED.items():
            with subtests.test(method=method, path=path, body=name):
                response = anonymous_client.request(method, path, content=body, headers=JSON)
                _assert_refused(response, "Authorization", status=401, code="unauthorized")
                assert response.headers["WWW-Authenticate"] == "Bearer"
    assert _stored(session) == before


def test_an_unknown_key_is_a_401_and_a_key_without_the_scope_a_403_before_the_body(
    anonymous_client: TestClient, session: Session
) -> None:
    _, read = auth.create_key(session, name="reader", scopes=["read"])
    _, write = auth.create_key(session, name="writer", scopes=["write"])
    session.commit()
    before = _stored(session)
    for body in MALFORMED.values():
        unknown = {**JSON, "Authorization": "Bearer sl_not_a_key"}
        _assert_refused(
            anonymous_client.post("/v1/stances", content=body, headers=unknown), "Authorization", 401
        )
        as_reader = {**JSON, "X-API-Key": read}
        _assert_refused(
            anonymous_client.post("/v1/stances", content=body, headers=as_reader), "Authorization", 403
        )
        as_writer = {**JSON, "Authorization": f"Bearer {write}"}
        _assert_refused(
            anonymous_client.post("/v1/registry", content=body, headers=as_writer), "Authorization", 403
        )
        # the key holds the scope: now the body is what is wrong
        _assert_refused(anonymous_client.post("/v1/stances", content=body, headers=as_writer), "body")
    assert _stored(session) == before


def test_with_public_reads_a_write_without_a_key_is_still_a_401(
    app: FastAPI, anonymous_client: TestClient
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"public_read": True})
    assert anonymous_client.get("/v1/topics").status_code == 200
    _assert_refused(
        anonymous_client.post("/v1/stances", content=b"{not json", headers=JSON), "Authorization", 401
    )


# --- slugs in the URL -----------------------------------------------------------------------------


def test_a_nul_in_a_slug_in_the_url_is_a_422_naming_the_slug_on_every_engine(client: TestClient) -> None:
    for path in (
        "/web/topics/a%00b/actors",
        "/v1/topics/a%00b",
        "/v1/topics/a%00b/timeline",
        "/v1/actors/a%00b",
    ):
        error = _assert_refused(client.get(path), "slug", code="validation_error")
        assert "NUL" in error["message"]


def test_other_control_characters_in_a_slug_are_an_unknown_topic_on_every_engine(client: TestClient) -> None:
    for char in ("%01", "%1F", "%7F", "%0A"):
        _assert_refused(client.get(f"/web/topics/a{char}b/actors"), "topic", 404, "topic_not_found")
    assert client.get(f"/web/topics/{TOPIC}/actors").status_code == 200


# --- unknown slugs in a query ---------------------------------------------------------------------


def test_an_unknown_actor_or_topic_in_a_query_is_a_422_on_every_list(client: TestClient) -> None:
    _code(client, "italy", "2025-03-06")
    evidence = {"from": "2025-03-03", "to": "2025-03-10"}
    for path, params, field in (
        ("/v1/stances", {"actor": "unknown"}, "actor"),
        ("/v1/stances", {"actor": ["italy", "unknown"]}, "actor"),
        ("/v1/stances", {"topic": "unknown"}, "topic"),
        ("/v1/stances", {"topic": [TOPIC, "unknown"], "format": "csv"}, "topic"),
        ("/v1/timelines", {"topic": TOPIC, "actor": "unknown"}, "actor"),
        ("/v1/timelines", {"topic": "unknown"}, "topic"),
        ("/v1/compare", {"topic": TOPIC, "actor": ["italy", "unknown"]}, "actor"),
        ("/v1/shifts", {"actor": "unknown"}, "actor"),
        ("/v1/shifts", {"topic": "unknown"}, "topic"),
        ("/v1/network", {"topic": "unknown"}, "topic"),
        ("/v1/agreement", {"topic": "unknown"}, "topic"),
        ("/web/evidence", {"topic": TOPIC, "actor": "unknown", **evidence}, "actor"),
        ("/web/evidence", {"topic": "unknown", "actor": "italy", **evidence}, "topic"),
    ):
        _assert_refused(client.get(path, params=params), field, code=f"unknown_{field}")
    listed = client.get("/v1/stances", params={"actor": "italy", "topic": TOPIC})
    assert listed.status_code == 200
    assert [item["actor"] for item in listed.json()["items"]] == ["italy"]
    # known but never observed: an empty list, not an error
    assert client.get("/v1/stances", params={"actor": "france"}).json()["items"] == []


# --- windows --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), [("2025-03-01", "2025-01-01"), ("2025-03-01", "2025-03-01")])
def test_a_window_whose_to_is_not_after_its_from_is_a_422_naming_to(
    client: TestClient, lo: str, hi: str
) -> None:
    window = {"from": lo, "to": hi}
    for path, params in (
        ("/v1/timelines", {"topic": TOPIC}),
        ("/v1/timelines", {"topic": TOPIC, "actor": "italy", "rollup": "true"}),
        (f"/v1/topics/{TOPIC}/timeline", {}),
        ("/v1/compare", {"topic": TOPIC, "actor": ["italy", "france"]}),
        ("/v1/network", {"topic": TOPIC}),
        ("/v1/stances", {}),
        ("/v1/shifts", {}),
        ("/v1/articles", {}),
        ("/web/evidence", {"topic": TOPIC, "actor": "italy"}),
    ):
        error = _assert_refused(client.get(path, params={**params, **window}), "to", code="invalid_input")
        assert "from" in error["message"]
    assert (
        client.get("/v1/timelines", params={"topic": TOPIC, "from": hi, "to": "2025-04-01"}).status_code
        == 200
    )


# --- methods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/v1/stances", "GET, POST"),
        ("DELETE", "/v1/stances", "GET, POST"),
        ("TRACE", "/v1/stances/1", "GET, PATCH"),
        ("PUT", "/v1/articles/1", "GET, DELETE"),
        ("TRACE", "/v1/timelines", "GET"),
        ("POST", "/healthz", "GET"),
        ("TRACE", "/", "GET"),
        ("TRACE", "/static/style.css", "GET, HEAD"),
    ],
)
def test_an_unsupported_method_is_a_405_naming_the_allowed_ones(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    _assert_refused(response, None, 405, "method_not_allowed")
    assert response.headers["Allow"] == allowed


def test_an_unknown_path_is_a_404_with_any_method(client: TestClient) -> None:
    response = client.request("TRACE", "/v1/nowhere")
    _assert_refused(response, None, 404, "not_found")
    assert "Allow" not in response.headers


# --- the default timeline window --------------------------------------------------------------------


def _timeline(client: TestClient, path: str = "/v1/timelines", **params: Any) -> dict[str, Any]:
    response = client.get(path, params={"topic": TOPIC, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _observed(body: dict[str, Any], actor: str) -> list[tuple[str, int]]:
    points = next(s["points"] for s in body["series"] if s["actor"] == actor)
    return [(p["bucket"][:10], p["count"]) for p in points if p["count"]]


def test_one_observation_from_1800_leaves_the_default_timeline_on_the_recent_buckets(
    client: TestClient,
) -> None:
    for day in ("1800-01-01", "2025-03-06", "2025-04-10"):
        _code(client, "italy", day)

    week = _timeline(client, actor="italy")
    assert (week["from"], week["to"]) == ("2025-03-03T00:00:00Z", "2025-04-14T00:00:00Z")
    assert _observed(week, "italy") == [("2025-03-03", 1), ("2025-04-07", 1)]
    assert len(week["series"][0]["points"]) == 6  # every bucket of the window, empty ones too

    day = _timeline(client, actor="italy", interval="day")
    assert (day["from"], day["to"]) == ("2025-03-06T00:00:00Z", "2025-04-11T00:00:00Z")
    month = _timeline(client, actor="italy", interval="month")
    assert _observed(month, "italy") == [("2025-03-01", 1), ("2025-04-01", 1)]
    # the dashboard's request: candidate actors, roll-up
    rolled = _timeline(client, actor=["italy", "europe"], rollup="true")
    assert rolled["from"] == "2025-03-03T00:00:00Z"
    assert _observed(rolled, "italy") == [("2025-03-03", 1), ("2025-04-07", 1)]
    every = _timeline(client, f"/v1/topics/{TOPIC}/timeline")
    assert [s["actor"] for s in every["series"]] == ["italy"]
    assert _observed(every, "italy") == [("2025-03-03", 1), ("2025-04-07", 1)]
    csv = client.get("/v1/timelines", params={"topic": TOPIC, "actor": "italy", "format": "csv"})
    assert csv.status_code == 200
    assert len(csv.text.strip().splitlines()) == 1 + 6
    compared = client.get("/v1/compare", params={"topic": TOPIC, "actor": ["italy", "france"]})
    assert compared.status_code == 200, compared.text

    # an explicit window that wide is refused, naming the field as before
    error = _assert_refused(
        client.get("/v1/timelines", params={"topic": TOPIC, "actor": "italy", "from": "1800-01-01"}),
        "interval",
        code="limit_exceeded",
    )
    assert error["details"] == {"limit": 10_000}
    # an explicit window around the old observation shows it
    old = _timeline(client, actor="italy", **{"from": "1800-01-01", "to": "1800-03-01"})
    assert (old["from"], old["to"]) == ("1800-01-01T00:00:00Z", "1800-03-01T00:00:00Z")
    assert _observed(old, "italy") == [("1799-12-30", 1)]  # the ISO week of 1800-01-01 (a Wednesday)
    # an explicit end alone: the start is still found from the data
    ending = _timeline(client, actor="italy", to="2025-05-01")
    assert (ending["from"], ending["to"]) == ("2025-03-03T00:00:00Z", "2025-05-01T00:00:00Z")
    assert _observed(ending, "italy") == [("2025-03-03", 1), ("2025-04-07", 1)]


def test_the_default_window_reaches_back_a_fixed_number_of_buckets_to_the_first_one_observed(
    client: TestClient,
) -> None:
    assert RECENT_BUCKETS == {"day": 3650, "week": 520, "month": 240}
    for day in ("2014-01-06", "2016-01-04", "2025-03-06"):
        _code(client, "italy", day)
    # 520 weeks back from the week of 2025-03-03 reach 2015-04-13: 2014 is out, 2016 is the start
    week = _timeline(client, actor="italy")
    assert week["from"] == "2016-01-04T00:00:00Z"
    assert _observed(week, "italy") == [("2016-01-04", 1), ("2025-03-03", 1)]
    # 240 months reach 2005-04: everything is in
    month = _timeline(client, actor="italy", interval="month")
    assert month["from"] == "2014-01-01T00:00:00Z"
    assert len(_observed(month, "italy")) == 3
    # an explicit window of the whole span is within the limit and shows all three
    explicit = _timeline(client, actor="italy", **{"from": "2014-01-01"})
    assert explicit["from"] == "2014-01-01T00:00:00Z"
    assert len(_observed(explicit, "italy")) == 3


def test_the_default_window_never_passes_the_bucket_limit(app: FastAPI, client: TestClient) -> None:
    app.state.settings = app.state.settings.model_copy(update={"timeline_max_buckets": 10})
    for day in ("2025-01-06", "2025-03-31"):
        _code(client, "italy", day)
    body = _timeline(client, actor="italy")
    assert (body["from"], body["to"]) == ("2025-03-31T00:00:00Z", "2025-04-07T00:00:00Z")
    assert _observed(body, "italy") == [("2025-03-31", 1)]
    _assert_refused(
        client.get("/v1/timelines", params={"topic": TOPIC, "actor": "italy", "from": "2025-01-01"}),
        "interval",
        code="limit_exceeded",
    )


def test_a_timeline_without_data_names_no_window(client: TestClient) -> None:
    body = _timeline(client, actor="italy")
    assert (body["from"], body["to"]) == (None, None)
    assert body["series"][0]["points"] == []
    given = _timeline(client, actor="italy", **{"from": "2025-03-01", "to": "2025-03-08"})
    assert (given["from"], given["to"]) == ("2025-03-01T00:00:00Z", "2025-03-08T00:00:00Z")
