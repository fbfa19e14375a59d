"""Structured logs: JSON lines with a request id, access records, and no API key anywhere."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.ops.observability import configure_logging, redact
from tests.factories import article_payload


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging("INFO", json=True)
    yield
    configure_logging("INFO", json=True)


def _records(stderr: str) -> list[dict[str, Any]]:
    """Every JSON line of `stderr` (each must parse)."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/v1/actors").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second
    assert client.get("/no/such/route").headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("trace-42", True), ("a1b2:c3.d4_e5", True), ("x" * 65, False), ("<script>", False), ("a b", False)],
)
def test_a_callers_request_id_is_kept_only_when_short_and_plain(
    client: TestClient, sent: str, kept: bool
) -> None:
    returned = client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert (returned == sent) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_logs_are_json_lines_with_the_request_id_on_access_and_handler_records(
    client: TestClient, starter_registry: None, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = client.post("/v1/articles", json=article_payload(), headers={"X-Request-ID": "trace-42"})
    assert response.status_code == 201
    records = _records(capsys.readouterr().err)
    access = [r for r in records if r["logger"] == "app.access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "trace-42"
    assert access[0]["event"] == "http.request"
    assert access[0]["message"].startswith("http.request ")
    assert (access[0]["method"], access[0]["route"], access[0]["status"]) == ("POST", "/v1/articles", 201)
    assert isinstance(access[0]["duration_ms"], float)
    assert {"time", "level", "logger", "message"} <= set(access[0])
    # the handler runs in a worker thread; its records carry the same id
    stored = [r for r in records if r.get("event") == "ingest.stored"]
    assert stored
    assert {r["request_id"] for r in stored} == {"trace-42"}
    assert all(r["level"] == "INFO" for r in stored)


def test_records_outside_a_request_have_no_request_id(
    json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.getLogger("app.test").warning("worker.round_failed attempt=%d", 3)
    (record,) = _records(capsys.readouterr().err)
    assert record["event"] == "worker.round_failed"
    assert record["message"] == "worker.round_failed attempt=3"
    assert record["level"] == "WARNING"
    assert "request_id" not in record


def test_api_keys_never_reach_the_logs(
    client: TestClient, admin_key: str, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get("/v1/actors", headers={"Authorization": f"Bearer {admin_key}"})
    client.get("/v1/actors", headers={"X-API-Key": admin_key, "Authorization": ""})
    client.get(f"/v1/actors?key={admin_key}&api_key={admin_key}")
    client.get("/v1/actors", headers={"Authorization": "Bearer sl_revokedbutstillsecret0123456789"})
    # a library or a careless message that prints a key is masked too
    logging.getLogger("app.test").warning("auth.debug header='Authorization: Bearer %s'", admin_key)
    logging.getLogger("app.test").warning("auth.debug headers={'x-api-key': '%s'}", admin_key)
    try:
        raise ValueError(f"bad key {admin_key}")
    except ValueError:
        logging.getLogger("app.test").exception("request.unhandled_error")
    err = capsys.readouterr().err
    assert _records(err)
    assert admin_key not in err
    assert admin_key[3:20] not in err
    assert "sl_revokedbutstillsecret" not in err
    assert "[redacted]" in err


def test_text_format_is_one_plain_line_per_record(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=False)
    try:
        capsys.readouterr()
        client.get("/v1/actors", headers={"X-Request-ID": "plain-7"})
        lines = [line for line in capsys.readouterr().err.splitlines() if "app.access" in line]
    finally:
        configure_logging("INFO", json=True)
    assert len(lines) == 1
    assert re.match(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 INFO app\.access \[plain-7\] http\.request ", lines[0]
    )
    assert "route=/v1/actors status=200" in lines[0]


def test_configure_logging_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    configure_logging("INFO", json=True)
    before = len(root.handlers)
    configure_logging("INFO", json=False)
    configure_logging("INFO", json=True)
    assert len(root.handlers) == before
    assert logging.getLogger("uvicorn.access").disabled


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer sl_abcdefghijklmnopqrstuv",
        "GET /v1/actors?key=abc123secret&limit=5",
        "GET /v1/actors?limit=5&api_key=abc123secret",
        "{'x-api-key': 'abc123secret'}",
        "X-API-Key: abc123secret",
    ],
)
def test_redact_masks_keys_in_any_shape(text: str) -> None:
    masked = redact(text)
    assert "abc123secret" not in masked
    assert "sl_abcdefghijklmnopqrstuv" not in masked
    assert "[redacted]" in masked


def test_redact_leaves_ordinary_messages_alone() -> None:
    message = "ingest.stored article_id=4 status=created observations=2 monkey=1"
    assert redact(message) == message


def test_an_unhandled_error_is_logged_with_the_request_id(
    app: FastAPI, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    @app.get("/ops-test-boom")
    def explode() -> None:
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as client:
        capsys.readouterr()
        response = client.get("/ops-test-boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "boom-1"
    records = _records(capsys.readouterr().err)
    (error,) = [r for r in records if r.get("event") == "request.unhandled_error"]
    assert error["request_id"] == "boom-1"
    assert "kaboom" in error["exception"]
    (access,) = [r for r in records if r["logger"] == "app.access"]
    assert (access["status"], access["route"], access["request_id"]) == (500, "/ops-test-boom", "boom-1")
