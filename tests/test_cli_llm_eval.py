"""`stanceline eval --engine llm --llm-url URL --llm-model M` scores a set of our own against a fake
OpenAI-compatible server on 127.0.0.1: the answers break every validation rule beside the right
items, and only the right items (mended where a rule mends them) are scored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app import extraction
from app.cli.main import cli
from tests import port_ellery as pe
from tests.llm_server import FakeLLM, Reply, Seen, observations

runner = CliRunner()

SECOND = (
    "PORT ELLERY, March 11 (Coastline Wire) - The harbour master, Bram Okafor, said the seawall levy "
    "should be approved before the autumn storms."
)
ARTICLES: list[dict[str, Any]] = [
    {
        "id": "pe1",
        **pe.ARTICLE,
        "gold": [
            {**pe.MAYOR, "speaker": "Harriet Voss"},
            {**pe.AUTHORITY_ITEM},
        ],
    },
    {
        "id": "pe2",
        "url": "https://example.org/port-ellery/2025/03/11/seawall",
        "published_at": "2025-03-11T09:00:00Z",
        "title": "Harbour master backs the seawall levy",
        "text": SECOND,
        "gold": [
            {
                "actor": "bram-okafor",
                "topic": "seawall-levy",
                "label": "support",
                "score": 1.0,
                "observed_at": "2025-03-11",
                "evidence": SECOND,
                "speaker": "Bram Okafor",
                "shift": False,
            }
        ],
    },
    {"id": "pe3", "published_at": "2025-03-12T09:00:00Z", "text": pe.UNRELATED, "gold": []},
]

# every rule that drops, beside the right items of pe1
DROPPED = [
    {**pe.MAYOR, "actor": "grace-hollis"},  # unknown_actor
    {**pe.MAYOR, "topic": "harbour-dredging"},  # unknown_topic
    {**pe.MAYOR, "label": "enthusiastic"},  # bad_label
    {**pe.MAYOR, "score": 2},  # bad_score
    {**pe.MAYOR, "evidence": "Voss promised free ferries for life."},  # evidence_not_found
    {**pe.MAYOR, "evidence": pe.QUOTE},  # duplicate (same actor, topic and day)
    "harriet-voss: support",  # not_an_object
]
FIRST_ANSWER = observations(
    pe.MAYOR,
    # an alias for the slug, curly quotes where the text has straight ones
    {**pe.AUTHORITY_ITEM, "actor": "the ports authority", "evidence": pe.AUTHORITY.replace('"', "\u201c", 1)},
    *DROPPED,
)
SECOND_ANSWER = observations(
    {
        "actor": "the harbour master",  # an alias shared in turn: the holder on the day
        "topic": "Seawall levy",  # the topic's name
        "label": "support",
        "score": -1,  # against its label: takes the label's sign
        "observed_at": "2025-04-01",  # after publication: the publication date instead
        "evidence": SECOND.replace(" - ", "  \u2014  "),  # other spaces and dash
        "speaker": "Bram Okafor",
        "shift": False,
    }
)


def _answer(seen: Seen) -> Reply:
    if "March 11" in seen.prompt:
        return Reply(SECOND_ANSWER)
    if "March 4" in seen.prompt:
        return Reply(FIRST_ANSWER)
    return Reply(observations())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeLLM]:
    monkeypatch.setenv("STANCELINE_MODEL_CACHE", str(tmp_path / "model-cache"))
    fake = FakeLLM(respond=_answer).start()
    yield fake
    fake.stop()
    extraction.configure_llm(None)


def _set(tmp_path: Path) -> Path:
    folder = tmp_path / "port-ellery"
    folder.mkdir(parents=True)
    (folder / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    (folder / "registry.json").write_text(json.dumps(pe.REGISTRY), encoding="utf-8")
    return folder


def _eval(tmp_path: Path, *options: str) -> Any:
    return runner.invoke(cli, ["eval", "--set", f"port-ellery={_set(tmp_path)}", "--engine", "llm", *options])


def test_eval_scores_the_llm_engine_against_any_endpoint(server: FakeLLM, tmp_path: Path) -> None:
    result = _eval(tmp_path, "--llm-url", server.url, "--llm-model", "tiny-model", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["engine"] == "llm"
    figures = report["sets"]["port-ellery"]
    assert figures["observations"] == 3  # the two right items of pe1 and the mended one of pe2
    assert figures["strict"] == {**figures["strict"], "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert figures["label_accuracy"] == 1.0
    assert figures["date_within_7d"] == 1.0
    assert figures["traps"] == 0
    # pe3 names no registry actor: no request
    assert len(server.requests) == 2
    assert {seen.body["model"] for seen in server.requests} == {"tiny-model"}

    # the same run again: every answer from the cache
    again = _eval(tmp_path / "again", "--llm-url", server.url, "--llm-model", "tiny-model", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["sets"]["port-ellery"]["strict"] == figures["strict"]
    assert len(server.requests) == 2

    table = _eval(tmp_path / "table", "--llm-url", server.url, "--llm-model", "tiny-model")
    assert table.exit_code == 0, table.output
    assert "llm engine on 1 development set" in table.stdout


def test_eval_with_the_llm_engine_needs_an_endpoint(tmp_path: Path) -> None:
    extraction.configure_llm(None)
    result = _eval(tmp_path)
    assert result.exit_code == 2
    assert "--llm-url" in result.output
    assert "rules" not in result.stdout  # no quiet fallback to another engine's figures


def test_eval_says_when_the_endpoint_fails(server: FakeLLM, tmp_path: Path) -> None:
    server.respond = None
    server.default = Reply(status=500)
    result = _eval(tmp_path, "--llm-url", server.url, "--llm-model", "tiny-model", "--json")
    assert result.exit_code == 2
    assert "HTTP 500" in result.output
