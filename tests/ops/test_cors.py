"""CORS is off unless STANCELINE_CORS_ORIGINS names the origins browsers may call from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from tests.conftest import share_session

ALLOWED = "https://newsroom.example"
OTHER = "https://elsewhere.example"


def _preflight(client: TestClient, origin: str, method: str = "POST") -> dict[str, str]:
    response = client.options(
        "/v1/articles",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    return {"status": str(response.status_code), **{k.lower(): v for k, v in response.headers.items()}}


@pytest.fixture
def cors_client(settings: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"cors_origins": [ALLOWED]}))

    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


def test_no_cors_headers_by_default(client: TestClient) -> None:
    response = client.get("/v1/actors", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = _preflight(client, ALLOWED)
    assert "access-control-allow-origin" not in preflight
    assert "access-control-allow-methods" not in preflight


def test_a_configured_origin_passes_preflight_and_gets_the_header(cors_client: TestClient) -> None:
    preflight = _preflight(cors_client, ALLOWED)
    assert preflight["status"] == "200"
    assert preflight["access-control-allow-origin"] == ALLOWED
    allowed_headers = preflight["access-control-allow-headers"].lower()
    assert {"authorization", "x-api-key", "content-type"} <= {h.strip() for h in allowed_headers.split(",")}
    assert "POST" in preflight["access-control-allow-methods"]
    response = cors_client.get("/v1/actors", headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_another_origin_is_refused(cors_client: TestClient) -> None:
    preflight = _preflight(cors_client, OTHER)
    assert preflight["status"] == "400"
    assert "access-control-allow-origin" not in preflight
    response = cors_client.get("/v1/actors", headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in response.headers


def test_origins_are_read_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANCELINE_CORS_ORIGINS", f" {ALLOWED} , {OTHER},")
    assert Settings(_env_file=None).cors_origins == [ALLOWED, OTHER]
    monkeypatch.delenv("STANCELINE_CORS_ORIGINS")
    assert Settings(_env_file=None).cors_origins == []
