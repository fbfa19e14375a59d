"""Concurrent writers on one SQLite file wait for the lock instead of failing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.ops import migrate
from tests.factories import admin_headers, article_payload


def test_concurrent_ingest_into_sqlite_all_lands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    migrate.upgrade(url)
    payloads = [article_payload() for _ in range(24)]
    with TestClient(create_app(Settings(database_url=url)), headers=admin_headers(url)) as client:
        client.post(
            "/v1/topics", json={"slug": "ground-troops-ukraine", "name": "Troops", "keywords": ["troops"]}
        )
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda p: client.post("/v1/articles", json=p).status_code, payloads))
        assert [s for s in statuses if s != 201] == []
        page = client.get("/v1/articles", params={"limit": 100}).json()
    assert len(page["items"]) == len(payloads)
