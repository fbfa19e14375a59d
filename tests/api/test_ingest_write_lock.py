"""Extraction runs before the write transaction, never under the write lock, and one article's
text is bounded (issue 15, item 6).

Before: a 1,000,000-character article held SQLite's write lock for 21-29 s while it was
extracted inside the request's transaction, and a concurrent writer got 503 after 19 s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import get_session
from app.extraction.types import ArticleText
from app.ingest import articles as ingest
from app.main import create_app
from app.models import Article, Observation
from app.schemas import MAX_TEXT_CHARS
from app.store import aggregates
from tests.conftest import ENGINES
from tests.factories import Database, admin_headers, article_payload, registry_database

Events = list[str]


def _record_extractions(monkeypatch: pytest.MonkeyPatch, events: Events) -> None:
    real = ingest._extract

    def extract(text: ArticleText, **kwargs: Any) -> Any:
        events.append("extract")
        return real(text, **kwargs)

    monkeypatch.setattr(ingest, "_extract", extract)


@pytest.fixture
def events(app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch) -> Events:
    """What happens, in order: each extraction, and where each write unit of work (the request's
    SessionDep, whose BEGIN IMMEDIATE takes SQLite's write lock) begins and ends."""
    log: Events = []

    def write_unit() -> Iterator[Session]:
        log.append("begin")
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            log.append("end")

    app.dependency_overrides[get_session] = write_unit
    _record_extractions(monkeypatch, log)
    return log


def _outside_writes(log: Events) -> None:
    inside = False
    for event in log:
        inside = {"begin": True, "end": False}.get(event, inside)
        assert not (inside and event == "extract"), f"extraction inside the write transaction: {log}"


@pytest.mark.usefixtures("starter_registry")
def test_extraction_runs_before_the_write_transaction(client: TestClient, events: Events) -> None:
    payload = article_payload()
    created = client.post("/v1/articles", json=payload)
    assert created.status_code == 201, created.text
    assert created.json()["observations"] >= 1
    assert events == ["extract", "begin", "end"]

    events.clear()
    revised = client.post("/v1/articles", json={**payload, "text": payload["text"] + " France agreed."})
    assert revised.json()["status"] == "revised"
    assert events == ["extract", "begin", "end"]

    events.clear()
    assert client.post("/v1/articles", json=payload).json()["status"] == "revised"  # back to the first text
    events.clear()
    unchanged = client.post("/v1/articles", json=payload)
    assert unchanged.json()["status"] == "unchanged"
    assert events == ["begin", "end"], "a text stored unchanged is not extracted at all"

    events.clear()
    new = article_payload()
    batch = client.post(
        "/v1/articles/batch",
        json={"articles": [new, payload, {**payload, "text": "Russia rejects the plan."}, new, {"text": 1}]},
    )
    assert [r["status"] for r in batch.json()["results"]] == [
        "created",
        "unchanged",
        "revised",
        "unchanged",
        "error",
    ]
    assert events.count("extract") == 2  # the new article once (it comes twice) and the revision
    _outside_writes(events)


@pytest.mark.usefixtures("starter_registry")
def test_a_text_over_the_limit_is_refused_naming_text(client: TestClient, session: Session) -> None:
    over = article_payload(text="a" * (MAX_TEXT_CHARS + 1))
    single = client.post("/v1/articles", json=over)
    assert single.status_code == 422, single.text
    error = single.json()["error"]
    assert error["field"] == "text"
    assert error["details"][0]["limit"] == MAX_TEXT_CHARS

    batch = client.post("/v1/articles/batch", json={"articles": [over, article_payload()]})
    assert batch.status_code == 200, batch.text
    refused, created = batch.json()["results"]
    assert (refused["status"], refused["error"]["field"]) == ("error", "articles[0].text")
    assert created["status"] == "created"
    assert session.scalar(select(func.count()).select_from(Article)) == 1


# --- a long article and a concurrent writer, on a database of their own ---------------------------


@pytest.fixture(params=ENGINES)
def own_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with registry_database(
        request.param, tmp_path, shift_detection="off", sqlite_busy_timeout_ms=2000, migrate_on_start=False
    ) as database:
        yield database


def _long_text(chars: int) -> str:
    """News-like prose, every sentence different (so no parse is reused), `chars` long."""
    sentences = []
    size = day = 0
    while size < chars:
        day += 1
        sentence = (
            f"On day {day} of the talks, France said it supports a ceasefire monitoring mission, "
            f"while Russia said it would never accept foreign troops in Ukraine after meeting {day}. "
        )
        sentences.append(sentence)
        size += len(sentence)
    return "".join(sentences)[:chars]


def test_a_long_article_does_not_hold_the_write_lock_against_a_small_write(
    own_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The long article's extraction waits until a small write of another client has committed:
    under the write lock, that write could never commit (on SQLite it would get 503 after the
    busy timeout), so the handshake proves the lock is free while the long text is extracted."""
    text = _long_text(30_000)
    started, released = threading.Event(), threading.Event()
    waited: list[bool] = []
    real = ingest._extract

    def extract(article: ArticleText, **kwargs: Any) -> Any:
        if article.text == text:
            started.set()
            waited.append(released.wait(timeout=20))
        return real(article, **kwargs)

    monkeypatch.setattr(ingest, "_extract", extract)
    app = create_app(own_db.settings)
    headers = admin_headers(own_db.url)
    answers: dict[str, Any] = {}

    def post(name: str, path: str, body: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            answers[name] = client.post(path, json=body, headers=headers)

        return run

    with TestClient(app) as client:
        long_post = threading.Thread(target=post("long", "/v1/articles", article_payload(text=text)))
        long_post.start()
        assert started.wait(timeout=20), "the long article was never extracted"
        small = {
            "actor": "italy",
            "topic": "ground-troops-ukraine",
            "score": -1,
            "observed_at": "2025-03-06",
            "evidence": "Italy will not send troops.",
        }
        post("small", "/v1/stances", small)()
        released.set()
        long_post.join(timeout=60)

    assert answers["small"].status_code == 201, answers["small"].text
    assert waited == [True]
    assert answers["long"].status_code == 201, answers["long"].text
    assert answers["long"].json()["observations"] >= 1
    with own_db.factory() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == (
            answers["long"].json()["observations"] + 1
        )
        assert aggregates.differences(session) == []
