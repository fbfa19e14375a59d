"""Ids are 64-bit on every engine (issue 15, item 10): an id past 2^31 names a row or a 404, one
past 2^63 - 1 is a 422 naming the path parameter, and PostgreSQL's columns and sequences go on
past 2^31 - 1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Base
from app.main import create_app
from app.models import IdType, Observation
from app.ops import migrate
from app.registry.edits import STARTER_REGISTRY
from tests.conftest import create_database
from tests.factories import admin_headers, article_payload, make_actor, make_article, make_topic

# one id per route with an id in its path: (path, the resource its 404 names, the parameter)
ROUTES = [
    ("/v1/articles/{}", "article", "article_id"),
    ("/v1/stances/{}", "observation", "observation_id"),
    ("/v1/jobs/{}", "job", "job_id"),
    ("/v1/feeds/{}", "feed", "feed_id"),
]


@pytest.mark.parametrize("value", [2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1])
def test_an_id_no_row_has_is_a_404_naming_the_resource(client: TestClient, value: int) -> None:
    for path, resource, _ in ROUTES:
        response = client.get(path.format(value))
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == f"{resource}_not_found", response.text
    revoked = client.delete(f"/v1/keys/{value}")
    assert revoked.status_code == 404, revoked.text


@pytest.mark.parametrize("value", [str(2**63), str(2**64), str(10**30)])
def test_an_id_past_64_bits_is_a_422_naming_the_parameter(client: TestClient, value: str) -> None:
    for path, _, parameter in [*ROUTES, ("/v1/keys/{}", "key", "key_id")]:
        method = client.delete if path.startswith("/v1/keys") else client.get
        response = method(path.format(value))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["field"] == parameter, response.text


def test_rows_with_ids_past_32_bits_are_stored_and_read(client: TestClient, session: Session) -> None:
    actor = make_actor(session, "big-id-actor")
    topic = make_topic(session, "big-id-topic")
    article = make_article(session).article
    observation = Observation(
        id=2**40 + 1,
        actor_id=actor.id,
        topic_id=topic.id,
        article_id=article.id,
        score=0.5,
        label="support",
        confidence=1.0,
        observed_at=datetime(2025, 3, 26, tzinfo=UTC),
        method="manual",
        status="verified",
    )
    session.add(observation)
    session.commit()
    assert client.get(f"/v1/stances/{2**40 + 1}").json()["article_id"] == article.id
    listed = client.get("/v1/stances", params={"article": article.id, "limit": 1000}).json()["items"]
    assert 2**40 + 1 in [item["id"] for item in listed]


def test_every_id_column_is_an_id_type() -> None:
    """The models name every id column with the one type, which migration 0011 made BIGINT."""
    for table in Base.metadata.tables.values():
        for column in table.columns:
            holds_id = column.name == "id" or column.name.endswith("_id")
            if holds_id and column.name != "external_id":
                assert column.type is IdType, f"{table.name}.{column.name}"


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    url, drop = create_database("postgresql", tmp_path)
    migrate.upgrade(url)
    yield url
    drop()


def _sequence_types(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sequencename, data_type::text FROM pg_sequences"))
        return dict(rows.all())


def test_postgres_ids_go_on_past_2_31(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        types = _sequence_types(engine)
        assert types, "no sequence"
        assert set(types.values()) == {"bigint"}, types
        with engine.begin() as connection:
            for name in ("article_id_seq", "observation_id_seq"):
                connection.execute(text("SELECT setval(:name, 2147483647)"), {"name": name})
    finally:
        engine.dispose()
    with TestClient(
        create_app(Settings(database_url=postgres_url)), headers=admin_headers(postgres_url)
    ) as client:
        starter = orjson.loads(STARTER_REGISTRY.read_bytes())
        assert client.post("/v1/registry", json=starter).status_code == 200
        created = client.post("/v1/articles", json=article_payload())
        assert created.status_code == 201, created.text
        article_id = created.json()["article_id"]
        assert article_id == 2**31
        assert client.get(f"/v1/articles/{article_id}").json()["id"] == article_id
        stances = client.get("/v1/stances", params={"article": article_id}).json()["items"]
        assert stances, "the article's observations"
        assert all(item["id"] > 2**31 - 1 for item in stances)
        assert client.get(f"/v1/stances/{stances[0]['id']}").status_code == 200


def test_postgres_downgrade_gives_back_32_bit_ids(postgres_url: str) -> None:
    migrate.downgrade(postgres_url, "0010")
    engine = create_engine(postgres_url)
    try:
        assert set(_sequence_types(engine).values()) == {"integer"}
        with engine.connect() as connection:
            kinds = connection.execute(
                text(
                    "SELECT DISTINCT data_type FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = 'observation' AND column_name LIKE '%id'"
                )
            )
            assert kinds.scalars().all() == ["integer"]
    finally:
        engine.dispose()
    migrate.upgrade(postgres_url)
