"""One transaction per request: a failing commit answers 409 and stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from app.ops import migrate
from tests.conftest import ENGINES, create_database
from tests.factories import admin_headers, article_payload


@pytest.fixture(params=ENGINES)
def real_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    url, drop = create_database(request.param, tmp_path)
    migrate.upgrade(url)
    with TestClient(create_app(Settings(database_url=url)), headers=admin_headers(url)) as client:
        yield client
    drop()


def test_failing_commit_returns_409_and_leaves_nothing(
    real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = Session.commit

    def failing_commit(self: Session) -> None:
        self.rollback()
        raise IntegrityError("COMMIT", {}, Exception("forced failure at commit"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    response = real_client.post("/v1/actors", json={"slug": "france", "name": "France", "kind": "state"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"

    monkeypatch.setattr(Session, "commit", real_commit)
    assert real_client.get("/v1/actors/france").status_code == 404


def test_requests_commit_before_answering(real_client: TestClient) -> None:
    assert real_client.post("/v1/topics", json={"slug": "t", "name": "T"}).status_code == 201
    assert real_client.get("/v1/topics/t").status_code == 200
    response = real_client.post("/v1/articles", json=article_payload())
    assert response.status_code == 201
    assert real_client.get(f"/v1/articles/{response.json()['article_id']}").status_code == 200
