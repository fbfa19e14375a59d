"""POST /v1/extract and `stanceline extract-text`: a dry run of extraction, with an explanation.

A user defining a topic posts a text with the topic as a registry fragment and reads what
extraction makes of it, and why a sentence gave nothing; nothing is stored. The town of Quillby,
its tram extension and night buses were written for these tests (no storyline of the corpora).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import auth
from app.cli.main import cli
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.extraction import ENGINES
from app.main import create_app
from app.models import Actor, Article, Observation, Topic
from app.ops import migrate
from app.registry import edits as registry
from app.schemas import MAX_TEXT_CHARS, RegistryImport
from tests.conftest import share_session

TRAM = "quillby-tram-extension"
BUSES = "quillby-night-buses"

ACTORS: list[dict[str, Any]] = [
    {"slug": "quillby-council", "name": "Quillby Town Council", "kind": "organization",
     "aliases": ["Quillby Town Council", "the town council"]},
    {"slug": "odile-brannock", "name": "Odile Brannock", "kind": "person",
     "aliases": ["Odile Brannock", "Brannock", "Mayor Odile Brannock"],
     "memberships": [{"parent": "quillby-council", "role": "mayor", "from": "2022-01-01"}]},
    {"slug": "quillby-traders", "name": "Quillby Traders Association", "kind": "organization",
     "aliases": ["the Quillby Traders Association", "the traders' association"]},
]  # fmt: skip
TRAM_TOPIC: dict[str, Any] = {
    "slug": TRAM,
    "name": "Quillby tram extension",
    "description": (
        "Extending the tram line to Quillby harbour. Funding or building the extension is support; "
        "scrapping or delaying it is opposition."
    ),
    "keywords": ["tram extension", "harbour tram line"],
}
BUSES_TOPIC: dict[str, Any] = {
    "slug": BUSES,
    "name": "Quillby night buses",
    "description": "Running night buses in Quillby. Funding them is support; cutting them is opposition.",
    "keywords": ["night buses", "night bus service"],
}
FRAGMENT: dict[str, Any] = {"actors": ACTORS, "topics": [TRAM_TOPIC, BUSES_TOPIC]}
TEXT = (
    "Mayor Odile Brannock said on Tuesday that she backs the tram extension.\n\n"
    "The Quillby Traders Association warned against the night bus service.\n\n"
    "The weather in Quillby stayed mild."
)
EXPECTED = {
    ("odile-brannock", TRAM, "support", "2025-06-10"),
    ("quillby-traders", BUSES, "oppose", "2025-06-10"),  # the lead's day dates the undated remark
}


def _extract(client: TestClient, expect: int = 200, **body: Any) -> dict[str, Any]:
    payload = {"text": TEXT, "published_at": "2025-06-12", "registry": FRAGMENT, **body}
    response = client.post(client.app.url_path_for("extract_text"), json=payload)  # type: ignore[attr-defined]
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _found(body: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(o["actor"], o["topic"], o["label"], o["observed_at"][:10]) for o in body["observations"]}


def _counts(session: Session) -> list[int]:
    return [
        int(session.scalar(select(func.count()).select_from(m)) or 0)
        for m in (Article, Observation, Actor, Topic)
    ]


def test_a_fragment_topic_gives_observations_and_nothing_is_stored(
    client: TestClient, session: Session
) -> None:
    before = _counts(session)
    body = _extract(client)
    assert _found(body) == EXPECTED
    assert body["extractor"]["engine"] == "rules"
    assert body["extractor"]["version"].startswith("pipeline-")
    assert body["explanation"] is None
    [mayor] = [o for o in body["observations"] if o["actor"] == "odile-brannock"]
    assert mayor["evidence"] == TEXT[mayor["evidence_start"] : mayor["evidence_end"]]
    assert (mayor["speaker"], mayor["score"], mayor["sentence"], mayor["date_precision"]) == (
        "Odile Brannock",
        1.0,
        0,
        "day",
    )
    assert mayor["observed_at"] == "2025-06-10T00:00:00Z"  # "on Tuesday", as stored observations are
    assert _counts(session) == before  # no article, observation, actor or topic
    assert client.get(f"/v1/topics/{TRAM}").status_code == 404
    assert client.get("/v1/actors/odile-brannock").status_code == 404


def test_topic_restricts_the_answer(client: TestClient) -> None:
    body = _extract(client, topic=BUSES, explain=True)
    assert _found(body) == {("quillby-traders", BUSES, "oppose", "2025-06-10")}
    sentences = body["explanation"]["sentences"]
    assert {c["topic"] for s in sentences for c in s["candidates"]} == {BUSES}
    assert all([t["topic"] for t in s["topics"]] == [BUSES] for s in sentences)
    assert sentences[0]["topics"][0] == {
        "topic": BUSES,
        "relevance": 0.0,
        "keywords": [],
        "via": "none",
        "threshold": None,
        "counted": False,
    }
    assert body["explanation"]["summary"].startswith(f"3 sentences: 2 mention an actor, 1 is about {BUSES}")


def test_an_unknown_topic_is_a_422_naming_topic(client: TestClient) -> None:
    error = _extract(client, 422, topic="quillby-ferry")["error"]
    assert (error["code"], error["field"]) == ("unknown_topic", "topic")
    error = _extract(client, 422, topic="Not A Slug")["error"]
    assert error["field"] == "topic"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"registry": {"topics": [{**TRAM_TOPIC, "keywords": "tram extension"}]}},
            "registry.topics[0].keywords",
        ),
        ({"registry": {"topics": [TRAM_TOPIC, TRAM_TOPIC]}}, "registry.topics[1].slug"),
        (
            {"registry": {"topics": [{**TRAM_TOPIC, "parent": "quillby-transport"}]}},
            "registry.topics[0].parent",
        ),
        ({"registry": {"actors": ACTORS[1:]}}, "registry.actors[0].memberships[0].parent"),
        ({"registry": {"topics": [{**TRAM_TOPIC, "parent": TRAM}]}}, "registry.topics[0].parent"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "text"),
        ({"text": "   "}, "text"),
        ({"published_at": "2025-06-12T08:00:00"}, "published_at"),  # no timezone
        ({"published_at": None}, "published_at"),
        ({"language": "e"}, "language"),
        ({"explain": "sometimes"}, "explain"),
        ({"dry": True}, "dry"),  # an unknown field
    ],
)
def test_an_invalid_request_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    error = _extract(client, 422, **body)["error"]
    assert error["field"] == field, error


def test_text_longer_than_an_article_may_be_names_the_limit(client: TestClient) -> None:
    error = _extract(client, 422, text="x" * (MAX_TEXT_CHARS + 1))["error"]
    assert error["details"][0]["limit"] == MAX_TEXT_CHARS


def test_explain_says_why_sentences_gave_nothing(client: TestClient) -> None:
    body = _extract(client, explain=True)
    explanation = body["explanation"]
    sentences = explanation["sentences"]
    assert [s["text"] for s in sentences] == TEXT.split("\n\n")
    assert [s["start"] for s in sentences] == [TEXT.index(s["text"]) for s in sentences]
    weather = sentences[2]
    assert weather["parsed"] is False
    assert (weather["mentions"], weather["topics"], weather["candidates"]) == ([], [], [])
    assert weather["notes"][:2] == [
        "no actor: no registry actor is named or referred to",
        "no topic: no keyword of any topic",
    ]
    mayor = sentences[0]
    assert [(m["actor"], m["via"]) for m in mayor["mentions"]] == [
        ("odile-brannock", "alias"),
        ("odile-brannock", "coreference"),  # "she"
    ]
    assert mayor["topics"][0]["keywords"] == ["tram extension"]
    assert {"text": "backs", "sign": 1, "kind": "stance verb"} in mayor["cues"]
    traders = sentences[1]
    assert traders["cues"] == [{"text": "against", "sign": -1, "kind": "preposition"}]
    kept = {
        (c["actor"], c["topic"], c["label"], c["score"], s["index"])
        for s in sentences
        for c in s["candidates"]
        if c["kept"]
    }
    assert kept == {
        (o["actor"], o["topic"], o["label"], o["score"], o["sentence"]) for o in body["observations"]
    }
    assert explanation["summary"] == (
        "3 sentences: 2 mention an actor, 2 are about a topic, 2 parsed, 2 with a claimant; "
        "3 candidates, 2 observations"
    )


def test_explaining_changes_no_observation(client: TestClient) -> None:
    assert _extract(client, explain=True)["observations"] == _extract(client)["observations"]


def test_an_actor_that_makes_no_claim_is_a_dropped_candidate(client: TestClient) -> None:
    text = "The tram extension was discussed at a Quillby Town Council meeting on Monday."
    body = _extract(client, text=text, explain=True)
    assert body["observations"] == []
    [sentence] = body["explanation"]["sentences"]
    assert sentence["parsed"] is True
    assert sentence["claimants"] == []
    [candidate] = sentence["candidates"]
    assert candidate["kept"] is False
    assert candidate["reason"] == "quillby-council makes no claim here: not the subject or agent of a verb"


def test_a_fragment_replaces_a_stored_topic_for_one_request(client: TestClient) -> None:
    stored = {**TRAM_TOPIC, "keywords": ["harbour tram line"]}
    assert client.post("/v1/topics", json=stored).status_code == 201
    for actor in ACTORS:
        assert client.post("/v1/actors", json=actor).status_code == 201
    assert _found(_extract(client, registry=None, topic=TRAM)) == set()  # "tram extension" is no keyword
    edited = {"topics": [{**TRAM_TOPIC, "keywords": ["tram extension"]}]}
    assert _found(_extract(client, registry=edited, topic=TRAM)) == {
        ("odile-brannock", TRAM, "support", "2025-06-10")
    }
    assert client.get(f"/v1/topics/{TRAM}").json()["keywords"] == ["harbour tram line"]


def test_read_access_is_enough(app: Any, anonymous_client: TestClient, session: Session) -> None:
    url = app.url_path_for("extract_text")
    payload = {"text": TEXT, "published_at": "2025-06-12", "registry": FRAGMENT}
    assert anonymous_client.post(url, json=payload).status_code == 401
    _, key = auth.create_key(session, name="reader", scopes=["read"])
    session.commit()
    response = anonymous_client.post(url, json=payload, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    assert _found(response.json()) == EXPECTED


@pytest.fixture
def embeddings_client(settings: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"extraction_engine": "embeddings"}))
    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.mark.skipif("embeddings" not in ENGINES, reason="the embeddings engine is not installed")
def test_the_embeddings_engine_explains_too(embeddings_client: TestClient) -> None:
    body = _extract(embeddings_client, explain=True)
    assert body["extractor"]["engine"] == "embeddings"
    assert _found(body) == EXPECTED
    explanation = body["explanation"]
    assert "topics also by sentence similarity" in explanation["summary"]
    kept = {(c["actor"], c["topic"]) for s in explanation["sentences"] for c in s["candidates"] if c["kept"]}
    assert kept == {(a, t) for a, t, _, _ in EXPECTED}
    # a sentence naming an actor and no keyword is compared with every topic by similarity
    body = _extract(embeddings_client, text="Mayor Odile Brannock opened a bakery.", topic=TRAM, explain=True)
    [topic] = body["explanation"]["sentences"][0]["topics"]
    assert topic["via"] == "similarity"
    assert topic["counted"] is False
    assert topic["relevance"] < topic["threshold"]


# --- stanceline extract-text ---------------------------------------------------------------------


def test_the_cli_prints_the_observations_and_why(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'extract.db'}"
    migrate.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    with session_scope(make_sessionmaker(engine)) as session:  # the actors are stored, the topics not
        registry.import_registry(session, RegistryImport.model_validate({"actors": ACTORS}))
    text = tmp_path / "text.txt"
    text.write_text(TEXT, encoding="utf-8")
    fragment = tmp_path / "topics.yaml"
    fragment.write_text(
        f"topics:\n  - slug: {TRAM}\n    name: Quillby tram extension\n    keywords: [tram extension]\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    arguments = ["extract-text", str(text), "--date", "2025-06-12", "--registry", str(fragment)]
    result = runner.invoke(cli, [*arguments, "--explain", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert f"database: sqlite:///{tmp_path / 'extract.db'}" in result.stderr
    assert "registry: 3 actors, 0 topics" in result.stderr
    out = result.stdout
    assert "1 observations (rules pipeline-" in out
    assert "odile-brannock" in out
    assert f"#0 odile-brannock: {TEXT.splitlines()[0]}" in out
    assert "kept    odile-brannock x quillby-tram-extension: kept: odile-brannock support +1" in out
    assert "why    no actor: no registry actor is named or referred to" in out
    assert "3 sentences: 2 mention an actor, 1 is about a topic" in out

    as_json = runner.invoke(cli, [*arguments, "--json", "--database-url", url])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert set(body) == {"observations", "extractor", "explanation"}
    assert _found(body) == {("odile-brannock", TRAM, "support", "2025-06-10")}

    unknown = runner.invoke(cli, [*arguments, "--topic", "quillby-ferry", "--database-url", url])
    assert unknown.exit_code == 2
    assert "unknown topic 'quillby-ferry' (topic)" in unknown.stderr
    with session_scope(make_sessionmaker(engine)) as session:
        assert _counts(session) == [0, 0, 3, 0]  # the dry runs stored nothing
    engine.dispose()
