"""The llm engine behind the API, against a fake OpenAI-compatible server on 127.0.0.1: suggestions
wait for a reviewer before they count, observations count at once, a failing endpoint neither
blocks nor loses an ingest (the article waits in the extraction queue, whose retries and `failed`
state take over), and a revision it cannot extract is refused with 503."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app import extraction as extraction_engines
from app.config import Settings
from app.db import session_scope
from app.jobs import extraction
from app.main import create_app
from app.models import Article
from app.registry import context as registry_context
from app.registry import edits as registry
from app.schemas import RegistryImport
from app.store import extraction_queue as queue_store
from tests import port_ellery as pe
from tests.conftest import ENGINES, share_session
from tests.factories import admin_headers, registry_database
from tests.llm_server import FakeLLM, Reply, observations

ANSWER = observations(pe.MAYOR, pe.AUTHORITY_ITEM)


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    fake = FakeLLM(default=Reply(ANSWER)).start()
    yield fake
    fake.stop()
    extraction_engines.configure_llm(None)  # the apps below set this process's endpoint


def llm_settings(settings: Settings, server: FakeLLM, cache: Path, **changes: Any) -> Settings:
    return settings.model_copy(
        update={
            "extraction_engine": "llm",
            "extraction_workers": 0,
            "llm_url": server.url,
            "llm_model": "fake-model",
            "llm_cache_dir": cache,
            "llm_timeout_seconds": 1.0,
            "llm_max_retries": 1,
            **changes,
        }
    )


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(
    settings: Settings, session: Session, admin_key: str, server: FakeLLM, tmp_path: Path
) -> Iterator[MakeClient]:
    """An API client whose app extracts with the llm engine (`make_client(llm_mode=...)`), in the
    test's rolled-back transaction, with the Port Ellery registry."""
    registry.import_registry(session, RegistryImport.model_validate(pe.REGISTRY))
    session.commit()
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        app = create_app(llm_settings(settings, server, tmp_path / "cache", **changes))
        share_session(app, session)
        clients.append(TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}).__enter__())
        return clients[-1]

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _stances(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/stances", params={"topic": "ferry-subsidy", **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _levels(client: TestClient) -> dict[str, list[tuple[float, int]]]:
    """Per actor, the (score, count) of each monthly point of the ferry subsidy's timeline."""
    response = client.get("/v1/timelines", params={"topic": "ferry-subsidy", "interval": "month"})
    assert response.status_code == 200, response.text
    return {
        series["actor"]: [(p["score"], p["count"]) for p in series["points"] if p["count"]]
        for series in response.json()["series"]
    }


def test_suggestions_count_only_once_a_reviewer_verifies_or_corrects_them(make_client: MakeClient) -> None:
    client = make_client(llm_mode="suggestions")
    posted = client.post("/v1/articles", params={"wait": "true"}, json=pe.ARTICLE)
    assert posted.status_code == 201, posted.text
    assert (posted.json()["extraction"], posted.json()["observations"]) == ("done", 2)

    stored = {s["actor"]: s for s in _stances(client, article=posted.json()["article_id"])}
    assert {s["status"] for s in stored.values()} == {"suggested"}
    assert {s["method"] for s in stored.values()} == {"llm"}
    assert stored["harriet-voss"]["extractor_version"] == "llm-1.0.0+fake-model"
    assert stored["harriet-voss"]["evidence"] == pe.LEAD
    assert [s["actor"] for s in _stances(client, status="suggested")] == list(stored)
    assert _stances(client, status="auto") == []
    assert _levels(client) == {}  # nothing counts yet

    mayor, authority = stored["harriet-voss"]["id"], stored["tidewater-ports-authority"]["id"]
    # a suggestion is not made to count by calling it automatic
    refused = client.patch(f"/v1/stances/{mayor}", json={"status": "auto"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "status"

    assert client.patch(f"/v1/stances/{mayor}", json={"status": "verified"}).status_code == 200
    assert _levels(client) == {"harriet-voss": [(1.0, 1)]}
    corrected = client.patch(f"/v1/stances/{authority}", json={"score": -0.5})
    assert corrected.json()["status"] == "corrected"
    assert _levels(client) == {"harriet-voss": [(1.0, 1)], "tidewater-ports-authority": [(-0.5, 1)]}
    assert client.patch(f"/v1/stances/{authority}", json={"status": "rejected"}).status_code == 200
    assert _levels(client) == {"harriet-voss": [(1.0, 1)]}


def test_a_rejected_suggestion_never_counts(make_client: MakeClient) -> None:
    client = make_client(llm_mode="suggestions")
    article_id = client.post("/v1/articles", params={"wait": "true"}, json=pe.ARTICLE).json()["article_id"]
    for stance in _stances(client, article=article_id):
        assert client.patch(f"/v1/stances/{stance['id']}", json={"status": "rejected"}).status_code == 200
    assert _levels(client) == {}


def test_observations_mode_counts_at_once(make_client: MakeClient, server: FakeLLM) -> None:
    client = make_client(llm_mode="observations")
    posted = client.post("/v1/articles", params={"wait": "true"}, json=pe.ARTICLE)
    assert posted.status_code == 201, posted.text
    assert {s["status"] for s in _stances(client)} == {"auto"}
    assert _levels(client) == {"harriet-voss": [(1.0, 1)], "tidewater-ports-authority": [(-1.0, 1)]}
    assert len(server.requests) == 1
    exposed = client.get("/metrics").text
    for sample in (
        'stanceline_llm_items_total{outcome="kept"}',
        'stanceline_llm_articles_total{outcome="answered"}',
        'stanceline_llm_requests_total{outcome="ok"}',
    ):
        assert sample in exposed


def test_a_failing_endpoint_leaves_a_new_article_to_the_queue(
    make_client: MakeClient, server: FakeLLM
) -> None:
    server.default = Reply(status=500)
    client = make_client()
    started = time.monotonic()
    posted = client.post("/v1/articles", params={"wait": "true"}, json=pe.ARTICLE)
    assert time.monotonic() - started < 10  # bounded: 2 attempts of at most 1 s, and a backoff
    assert posted.status_code == 201, posted.text
    assert (posted.json()["extraction"], posted.json()["observations"]) == ("pending", 0)
    detail = client.get(f"/v1/articles/{posted.json()['article_id']}").json()["extraction"]
    assert detail["state"] == "pending"
    assert len(server.requests) == 2


def test_a_slow_endpoint_bounds_a_waiting_ingest(make_client: MakeClient, server: FakeLLM) -> None:
    server.default = Reply(ANSWER, delay=30)
    client = make_client(llm_max_retries=0, llm_timeout_seconds=0.5)
    started = time.monotonic()
    posted = client.post("/v1/articles", params={"wait": "true"}, json=pe.ARTICLE)
    assert time.monotonic() - started < 5
    assert posted.json()["extraction"] == "pending"


def test_a_revision_the_endpoint_cannot_extract_is_refused(make_client: MakeClient, server: FakeLLM) -> None:
    client = make_client()
    first = client.post("/v1/articles", params={"wait": "true"}, json=pe.ARTICLE)
    assert first.json()["observations"] == 2
    server.default = Reply(status=503)
    revised = client.post(
        "/v1/articles",
        params={"wait": "true"},
        json={**pe.ARTICLE, "text": pe.TEXT + " The vote is on Friday."},
    )
    assert revised.status_code == 503, revised.text
    error = revised.json()["error"]
    assert error["code"] == "extraction_unavailable"
    assert "HTTP 503" in error["message"]
    assert len(_stances(client)) == 2  # the first revision's observations stay
    batch = client.post(
        "/v1/articles/batch",
        params={"wait": "true"},
        json={"articles": [{**pe.ARTICLE, "text": pe.TEXT + " Again."}]},
    )
    assert batch.status_code == 200, batch.text
    assert batch.json()["results"][0]["error"]["code"] == "extraction_unavailable"


def test_the_same_text_again_is_answered_from_the_cache(make_client: MakeClient, server: FakeLLM) -> None:
    client = make_client(llm_mode="observations")
    client.post("/v1/articles", params={"wait": "true"}, json=pe.ARTICLE)
    copy = {**pe.ARTICLE, "url": "https://example.org/port-ellery/copy"}
    assert client.post("/v1/articles", params={"wait": "true"}, json=copy).json()["observations"] == 2
    assert len(server.requests) == 1


def test_a_dry_run_with_a_failing_endpoint_answers_503(make_client: MakeClient, server: FakeLLM) -> None:
    server.default = Reply(status=500)
    client = make_client()
    response = client.post("/v1/extract", json={"text": pe.TEXT, "published_at": pe.PUBLISHED})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "extraction_unavailable"


# --- the extraction queue -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENGINES)
def test_the_queue_retries_a_failing_endpoint_then_records_it(
    kind: str, server: FakeLLM, tmp_path: Path
) -> None:
    server.default = Reply(status=500)
    with registry_database(kind, tmp_path, ingest_wait=False, extraction_max_attempts=2) as db:
        with session_scope(db.factory) as session:
            registry.import_registry(session, RegistryImport.model_validate(pe.REGISTRY))
        settings = llm_settings(db.settings, server, tmp_path / "cache", llm_mode="suggestions")
        app = create_app(settings.model_copy(update={"migrate_on_start": False}))
        settings = app.state.settings
        with TestClient(app, headers=admin_headers(db.url)) as client:
            posted = client.post("/v1/articles", json=pe.ARTICLE).json()
            assert posted["extraction"] == "pending"
            assert server.requests == []  # stored at once, nothing asked in the request

            cache = registry_context.RegistryCache()
            assert extraction.drain(db.factory, settings=settings, cache=cache).retry == 1
            with session_scope(db.factory) as session:  # its backoff, waited out
                session.execute(update(Article).values(extraction_lease_until=None))
            assert extraction.drain(db.factory, settings=settings, cache=cache).failed == 1
            detail = client.get(f"/v1/articles/{posted['article_id']}").json()["extraction"]
            assert (detail["state"], detail["attempts"]) == ("failed", 2)
            assert "ExtractionUnavailable" in detail["error"]
            assert "HTTP 500" in detail["error"]

            server.default = Reply(ANSWER)
            with session_scope(db.factory) as session:
                assert queue_store.requeue_failed(session) == 1
            assert extraction.drain(db.factory, settings=settings, cache=cache).done == 1
            stances = client.get("/v1/stances", params={"article": posted["article_id"]}).json()["items"]
            assert sorted(s["status"] for s in stances) == ["suggested", "suggested"]
