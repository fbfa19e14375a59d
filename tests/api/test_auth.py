"""API keys and scopes: who may read, who may write, and nothing written by anyone else."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import auth
from app.models import ApiKey, Article, Observation
from tests.factories import article_payload

pytestmark = pytest.mark.usefixtures("starter_registry")
TOPIC = "ground-troops-ukraine"


def _key(session: Session, scope: str) -> str:
    _, plain = auth.create_key(session, name=f"{scope} user", scopes=[scope])
    session.commit()
    return plain


def _bearer(plain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plain}"}


def _stored(session: Session) -> tuple[int, int]:
    articles = session.scalar(select(func.count()).select_from(Article)) or 0
    observations = session.scalar(select(func.count()).select_from(Observation)) or 0
    return articles, observations


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == "Authorization"


def test_no_key_reads_nothing_and_writes_nothing(anonymous_client: TestClient, session: Session) -> None:
    response = anonymous_client.get("/v1/topics")
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    before = _stored(session)
    _error(anonymous_client.post("/v1/articles", json=article_payload()), 401, "unauthorized")
    assert _stored(session) == before
    assert anonymous_client.get("/healthz").status_code == 200, "health stays open for probes"


def test_each_scope_reaches_as_far_as_it_should(anonymous_client: TestClient, session: Session) -> None:
    read, write, admin = (_key(session, scope) for scope in ("read", "write", "admin"))
    client = anonymous_client
    assert client.get("/v1/topics", headers=_bearer(read)).status_code == 200
    assert client.get("/v1/topics", headers={"X-API-Key": read}).status_code == 200

    before = _stored(session)
    _error(client.post("/v1/articles", json=article_payload(), headers=_bearer(read)), 403, "forbidden")
    manual = {"actor": "france", "topic": TOPIC, "score": 1.0, "observed_at": "2025-03-03"}
    _error(client.post("/v1/stances", json=manual, headers=_bearer(read)), 403, "forbidden")
    assert _stored(session) == before

    created = client.post("/v1/articles", json=article_payload(), headers=_bearer(write))
    assert created.status_code == 201
    article_id = created.json()["article_id"]
    assert client.post("/v1/stances", json=manual, headers=_bearer(write)).status_code == 201

    registry = {"actors": [{"slug": "malta", "name": "Malta", "kind": "state"}], "topics": []}
    _error(client.post("/v1/registry", json=registry, headers=_bearer(write)), 403, "forbidden")
    _error(client.delete(f"/v1/articles/{article_id}", headers=_bearer(write)), 403, "forbidden")
    _error(client.get("/v1/keys", headers=_bearer(write)), 403, "forbidden")
    assert client.get("/v1/actors/malta", headers=_bearer(admin)).status_code == 404

    assert client.post("/v1/registry", json=registry, headers=_bearer(admin)).status_code == 200
    deleted = client.delete(f"/v1/articles/{article_id}", headers=_bearer(admin))
    assert deleted.status_code == 200
    assert deleted.json()["observations"] > 0
    assert client.get(f"/v1/articles/{article_id}", headers=_bearer(read)).status_code == 404


def test_wrong_and_revoked_keys_are_refused(client: TestClient, anonymous_client: TestClient) -> None:
    made = client.post("/v1/keys", json={"name": "a script", "scope": "write"})
    assert made.status_code == 201
    plain, key_id = made.json()["key"], made.json()["id"]
    assert anonymous_client.get("/v1/topics", headers=_bearer(plain)).status_code == 200
    _error(anonymous_client.get("/v1/topics", headers=_bearer(plain + "x")), 401, "unauthorized")

    listed = client.get("/v1/keys").json()
    assert all("key" not in row for row in listed), "a listing never shows a key"
    assert [row["prefix"] for row in listed if row["id"] == key_id] == [plain[:10]]

    assert client.delete(f"/v1/keys/{key_id}").json()["revoked_at"] is not None
    _error(anonymous_client.get("/v1/topics", headers=_bearer(plain)), 401, "unauthorized")
    _error(
        anonymous_client.post("/v1/articles", json=article_payload(), headers=_bearer(plain)),
        401,
        "unauthorized",
    )


def test_public_reads_still_need_a_key_to_write(app: FastAPI, anonymous_client: TestClient) -> None:
    app.state.settings = app.state.settings.model_copy(update={"public_read": True})
    assert anonymous_client.get("/v1/topics").status_code == 200
    _error(anonymous_client.post("/v1/articles", json=article_payload()), 401, "unauthorized")


def test_only_a_hash_is_stored_and_keys_stay_out_of_logs(
    anonymous_client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plain = _key(session, "write")
    stored = session.scalars(select(ApiKey)).all()
    assert all(plain not in (row.key_hash, row.prefix, row.name) for row in stored)
    assert any(row.key_hash == auth.hash_key(plain) for row in stored)
    anonymous_client.post("/v1/articles", json=article_payload(), headers=_bearer(plain))
    anonymous_client.post("/v1/registry", json={"actors": [], "topics": []}, headers=_bearer(plain))
    anonymous_client.get("/v1/topics", headers={"X-API-Key": plain + "wrong"})
    assert caplog.records, "the requests were logged"
    assert plain not in caplog.text
    assert plain[10:] not in caplog.text
