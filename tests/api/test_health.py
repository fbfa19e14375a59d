from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {
        "status": "ok",
        "database": None,
        "revision": None,
        "extraction": None,
    }
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


def test_readyz_is_503_while_migrations_are_pending(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", migrate_on_start=False)
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "migrations pending"


def test_sqlite_is_created_and_migrated_on_first_start(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'first.db'}", public_read=True)
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/v1/topics").json() == {"items": [], "next_cursor": None}


def test_openapi_documents_examples_and_unknown_routes_use_the_error_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "examples" in schema["components"]["schemas"]["ArticleCreate"]
    assert "/v1/timelines" in schema["paths"]
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn.jsdelivr" not in page
    script = next(
        part.split('"')[1] for part in page.split("<script src=")[1:] if "swagger-ui-bundle" in part
    )
    assert client.get(script).status_code == 200
    assert client.get("/redoc").status_code == 200
