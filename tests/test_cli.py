from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from app import devsets
from app.cli.main import DEMO_CORPUS, REPO_ROOT, cli, uvicorn_options
from app.config import Settings
from app.main import create_app
from app.models import Article, Observation, Topic
from app.ops import migrate
from app.registry.edits import STARTER_REGISTRY
from tests.unit.extraction import lakeford

runner = CliRunner()
SCORER = Path(__file__).resolve().parents[2] / "shared" / "eval" / "score.py"
PREDICTION_KEYS = {
    "article_id",
    "actor",
    "topic",
    "label",
    "score",
    "confidence",
    "observed_at",
    "evidence",
    "speaker",
    "shift",
}


def _count(url: str, model: type) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(value)


def test_extract_writes_one_observation_per_line(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(
        cli, ["extract", "--corpus", str(DEMO_CORPUS), "--registry", str(STARTER_REGISTRY), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows
    ids = {json.loads(line)["id"] for line in DEMO_CORPUS.read_text().splitlines()}
    for row in rows:
        assert set(row) == PREDICTION_KEYS
        assert row["article_id"] in ids
        assert row["label"] in {"support", "oppose", "neutral", "mixed"}
        assert len(row["observed_at"]) == 10


def _shared_scores(predictions: Path) -> dict[str, Any]:
    """The shared scorer's figures for `predictions` on the demo corpus."""
    scored = subprocess.run(
        [
            sys.executable,
            str(SCORER),
            "--gold",
            str(DEMO_CORPUS),
            "--pred",
            str(predictions),
            "--registry",
            str(STARTER_REGISTRY),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(scored.stdout)
    return figures


@pytest.mark.skipif(not SCORER.exists(), reason=f"the shared scorer is not at {SCORER}")
def test_extract_output_is_read_by_the_shared_scorer(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    runner.invoke(
        cli, ["extract", "--corpus", str(DEMO_CORPUS), "--registry", str(STARTER_REGISTRY), "--out", str(out)]
    )
    figures = _shared_scores(out)
    assert figures["predictions_for_unknown_articles"] == 0
    assert figures["pair"]["found"] > 0


def test_extract_refuses_an_unknown_engine(tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "extract",
            "--corpus",
            str(DEMO_CORPUS),
            "--registry",
            str(STARTER_REGISTRY),
            "--out",
            str(tmp_path / "p.jsonl"),
            "--engine",
            "oracle",
        ],
    )
    assert result.exit_code == 2


def test_registry_load_twice_then_ingest_with_a_bad_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    first = runner.invoke(cli, ["registry", "load", str(STARTER_REGISTRY), "--database-url", url])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["registry", "load", str(STARTER_REGISTRY), "--database-url", url])
    assert "'created': 0, 'updated': 0" in second.output

    lines = DEMO_CORPUS.read_text().splitlines()[:3]
    bad = json.dumps({"url": "https://example.org/bad", "published_at": "2025-01-01T00:00:00Z"})
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join([lines[0], bad, *lines[1:]]) + "\n")
    result = runner.invoke(cli, ["ingest", str(feed), "--database-url", url, "--batch-size", "2"])
    assert result.exit_code == 1
    assert "line 2" in result.output
    assert _count(url, Article) == 3
    again = runner.invoke(cli, ["ingest", str(feed), "--database-url", url])
    assert "unchanged: 3" in again.output
    assert _count(url, Article) == 3


def test_demo_without_serving_loads_registry_and_corpus(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(cli, ["demo", "--db", str(db), "--no-serve"])
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{db}"
    assert _count(url, Article) == len(DEMO_CORPUS.read_text().splitlines())
    assert _count(url, Observation) > 0
    lines = result.stderr.splitlines()
    assert lines[0] == f"database: {url} (new file)"
    keys = dict(re.findall(r"^  (write|admin) \(.*\):\s+(sl_\S+)$", result.stderr, flags=re.MULTILINE))
    assert set(keys) == {"write", "admin"}
    # the serve command it suggests, then the quick start (tests/test_quickstart.py runs it on a server)
    serve = lines[lines.index("Serve it with:") + 1].split()
    assert serve[0] == "STANCELINE_PUBLIC_READ=true"
    assert serve[2:] == ["serve", "--database-url", url, "--host", "127.0.0.1", "--port", "8000"]
    assert f"  {serve[1]} keys create --name me --scope admin --database-url {url}" in lines
    assert f'  curl -X POST http://127.0.0.1:8000/v1/topics -H "Authorization: Bearer {keys["admin"]}"' in (
        result.stderr
    )
    with TestClient(create_app(Settings(database_url=url))) as client:
        for scope, key in keys.items():
            answer = client.get("/v1/keys", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == (200 if scope == "admin" else 403)
        topic = {"slug": "ferry-fares", "name": "Ferry fares", "keywords": ["ferry fare"]}
        for scope, status in (("write", 403), ("admin", 201)):
            bearer = {"Authorization": f"Bearer {keys[scope]}"}
            assert client.post("/v1/topics", headers=bearer, json=topic).status_code == status
    rerun = runner.invoke(cli, ["demo", "--db", str(db), "--no-serve"])
    assert rerun.exit_code == 0
    assert _count(url, Article) == len(DEMO_CORPUS.read_text().splitlines())


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    created = runner.invoke(
        cli, ["keys", "create", "--name", "newsroom feed", "--scope", "write", "--database-url", url]
    )
    assert created.exit_code == 0, created.output
    plain = created.stdout.strip().splitlines()[-1]
    assert plain.startswith("sl_")
    with TestClient(create_app(Settings(database_url=url))) as client:
        bearer = {"Authorization": f"Bearer {plain}"}
        assert client.get("/v1/topics", headers=bearer).status_code == 200
        listed = runner.invoke(cli, ["keys", "list", "--database-url", url])
        assert listed.exit_code == 0
        assert "newsroom feed" in listed.stdout
        assert plain not in listed.stdout
        assert plain[:10] in listed.stdout
        assert runner.invoke(cli, ["keys", "revoke", "1", "--database-url", url]).exit_code == 0
        assert client.get("/v1/topics", headers=bearer).status_code == 401
    assert runner.invoke(cli, ["keys", "revoke", "99", "--database-url", url]).exit_code == 2
    bad = runner.invoke(cli, ["keys", "create", "--name", "x", "--scope", "root", "--database-url", url])
    assert bad.exit_code == 2


def test_the_server_keeps_idle_connections_as_long_as_configured() -> None:
    # uvicorn's own 5 s closes connections a client pool still holds: the next request on one is dropped
    options = uvicorn_options(Settings(keep_alive_seconds=120), "127.0.0.1", 8000)
    assert options["timeout_keep_alive"] == 120
    assert Settings().keep_alive_seconds > 60  # above common proxy idle timeouts


def test_db_upgrade_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert runner.invoke(cli, ["db", "upgrade", "--database-url", url]).exit_code == 0
    assert runner.invoke(cli, ["db", "downgrade", "base", "--database-url", url]).exit_code == 0


def test_eval_prints_the_shared_figures_and_breakdowns(tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["eval", "--corpus", str(DEMO_CORPUS), "--registry", str(STARTER_REGISTRY), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["engine"] == "rules"
    figures = report["sets"]["demo"]
    assert set(figures["by_label"]) == {"support", "oppose", "neutral", "mixed"}
    assert "ground-troops-ukraine" in figures["by_topic"]
    assert 0 < figures["strict"]["f1"] <= 1
    assert (
        figures["topics"]["ground-troops-ukraine"]["strict"] == figures["by_topic"]["ground-troops-ukraine"]
    )
    assert 0 < figures["naive_floor"]["strict"]["f1"] < 1
    table = runner.invoke(cli, ["eval", "--corpus", str(DEMO_CORPUS), "--registry", str(STARTER_REGISTRY)])
    assert "demo (" in table.stdout
    assert "  ground-troops-ukraine" in table.stdout


@pytest.mark.skipif(not SCORER.exists(), reason=f"the shared scorer is not at {SCORER}")
def test_eval_agrees_with_the_shared_scorer(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    runner.invoke(
        cli, ["extract", "--corpus", str(DEMO_CORPUS), "--registry", str(STARTER_REGISTRY), "--out", str(out)]
    )
    shared = _shared_scores(out)
    ours = json.loads(
        runner.invoke(
            cli, ["eval", "--corpus", str(DEMO_CORPUS), "--registry", str(STARTER_REGISTRY), "--json"]
        ).stdout
    )["sets"]["demo"]
    assert {name: ours[name] for name in shared} == shared


def test_registry_load_reads_files_with_and_without_topic_relevance_fields(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    topic = {"slug": "urban-beekeeping", "name": "Rooftop beehives", "keywords": ["beehive", "honey"]}
    old_format = tmp_path / "old.json"
    old_format.write_text(json.dumps({"topics": [topic]}))
    new_format = tmp_path / "new.json"
    new_format.write_text(
        json.dumps(
            {
                "topics": [
                    {
                        **topic,
                        "weak_keywords": ["honey"],
                        "excluded_phrases": ["honey trap"],
                        "relevance_threshold": 0.45,
                    }
                ]
            }
        )
    )
    first = runner.invoke(cli, ["registry", "load", str(old_format), "--database-url", url])
    assert first.exit_code == 0, first.output
    assert "'created': 1" in first.output
    second = runner.invoke(cli, ["registry", "load", str(new_format), "--database-url", url])
    assert second.exit_code == 0, second.output
    assert "'updated': 1" in second.output
    engine = create_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(
            select(Topic.weak_keywords, Topic.excluded_phrases, Topic.relevance_threshold)
        ).one()
    engine.dispose()
    assert tuple(stored) == (["honey"], ["honey trap"], 0.45)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"topics": [{**topic, "relevance_threshold": 1.5}]}))
    refused = runner.invoke(cli, ["registry", "load", str(bad), "--database-url", url])
    assert refused.exit_code != 0
    assert "relevance_threshold" in refused.output


# Two tiny development sets and a fake engine: the CLI's table and JSON, not the extractor.
TINY_REGISTRY = {
    "actors": [{"slug": "alice", "name": "Alice", "kind": "person", "memberships": []},
               {"slug": "bob", "name": "Bob", "kind": "person", "memberships": []}],
    "topics": [{"slug": "tariffs", "name": "Tariffs"}, {"slug": "quotas", "name": "Quotas"}],
}  # fmt: skip
TINY_SETS = {
    "north": [
        {"id": "n1", "published_at": "2025-01-05T00:00:00Z", "text": "Alice backs tariffs. Bob opposes them.",
         "gold": [{"actor": "alice", "topic": "tariffs", "label": "support", "observed_at": "2025-01-05"},
                  {"actor": "bob", "topic": "tariffs", "label": "oppose", "observed_at": "2025-01-05"}],
         "do_not_extract": [{"actor": "bob", "topic": "quotas", "why": "a mere mention"}]},
        {"id": "n2", "published_at": "2025-01-06T00:00:00Z", "text": "Nothing here.", "gold": []},
    ],
    "south": [
        {"id": "s1", "published_at": "2025-02-01T00:00:00Z", "text": "Bob rejects quotas.",
         "gold": [{"actor": "bob", "topic": "quotas", "label": "oppose", "observed_at": "2025-02-01"}]},
    ],
}  # fmt: skip
# What the fake engine "extracts": n1 alice/tariffs right, bob/quotas a trap; s1 bob/quotas right.
FAKE_PREDICTIONS = {
    "n1": [("alice", "tariffs", "support"), ("bob", "quotas", "oppose")],
    "s1": [("bob", "quotas", "oppose")],
}


def _write_set(folder: Path, articles: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    (folder / "registry.json").write_text(json.dumps(TINY_REGISTRY), encoding="utf-8")
    return folder


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replaces extraction with FAKE_PREDICTIONS; records the registry topics it was given per call."""
    from app.extraction import corpus as corpus_module

    calls: list[str] = []

    def extract_corpus(articles: Any, snapshot: Any, engine: str = "rules") -> Any:
        calls.append(",".join(t.slug for t in snapshot.topics))
        for article in articles:
            for actor, topic, label in FAKE_PREDICTIONS.get(article["id"], []):
                yield {"article_id": article["id"], "actor": actor, "topic": topic, "label": label,
                       "score": 1.0, "observed_at": article["published_at"][:10]}  # fmt: skip

    monkeypatch.setattr(corpus_module, "extract_corpus", extract_corpus)
    return calls


def test_eval_scores_every_set_in_one_table(tmp_path: Path, fake_engine: list[str]) -> None:
    sets = tmp_path / "sets"
    for name, articles in TINY_SETS.items():
        _write_set(sets / name, articles)
    result = runner.invoke(cli, ["eval", "--sets", str(sets)])
    assert result.exit_code == 0, result.output
    assert len(fake_engine) == 2  # one extraction per set, each with its own registry
    lines = result.stdout.splitlines()
    assert sum("development set" in line for line in lines) == 1  # one table
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    assert [row[0] for row in rows] == [
        "north (2 articles)",
        "quotas",
        "tariffs",
        "south (1 articles)",
        "quotas",
    ]
    assert any(line.startswith("│   tariffs") for line in lines)  # topic rows indented under their set
    # pair F1, strict P, strict R, strict F1, roll-up F1, label acc., date <=7d, traps, floor F1
    # north: 2 gold, 2 predicted, 1 right, 1 trap; floor: alice and bob "support" on tariffs, 1 of 2 right
    assert rows[0][1:] == ["0.500", "0.500", "0.500", "0.500", "0.500", "1.000", "1.000", "1", "0.500"]
    assert rows[1][1:] == ["0.000", "0.000", "0.000", "0.000", "0.000", "0.000", "-", "1", "0.000"]
    assert rows[2][1:] == ["0.667", "1.000", "0.500", "0.667", "0.667", "1.000", "1.000", "0", "0.500"]
    assert rows[3][1:] == ["1.000"] * 7 + ["0", "0.000"]


def test_eval_json_has_every_figure_of_every_set(tmp_path: Path, fake_engine: list[str]) -> None:
    north = _write_set(tmp_path / "a", TINY_SETS["north"])
    south = _write_set(tmp_path / "b", TINY_SETS["south"])
    result = runner.invoke(cli, ["eval", "--set", f"north={north}", "--set", f"south={south}", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report["sets"]) == ["north", "south"]
    north_figures = report["sets"]["north"]
    assert north_figures["traps"] == 1
    assert north_figures["observations"] == 2
    assert north_figures["naive_floor"]["strict"]["f1"] == 0.5
    assert north_figures["topics"]["quotas"]["traps"] == 1
    assert north_figures["articles_path"] == str(north / "articles.jsonl")
    for key in ("pair", "strict", "rollup", "label_accuracy", "score_mae", "date_within_7d",
                "predictions_for_unknown_articles", "by_topic", "by_label"):  # fmt: skip
        assert key in north_figures


def test_eval_finds_the_shared_sets_next_to_the_repository(
    tmp_path: Path, fake_engine: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_set(tmp_path / "shared" / "corpus", TINY_SETS["north"])
    _write_set(tmp_path / "shared" / "corpora" / "south", TINY_SETS["south"])
    (tmp_path / "repo").mkdir()
    monkeypatch.setattr("app.cli.main.REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    result = runner.invoke(cli, ["eval", "--json"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["sets"]) == ["ukraine", "south"]
    assert f"found relative to {tmp_path / 'repo'}:" in "".join(result.stderr.split("\n"))


def test_eval_without_sets_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "repo").mkdir()
    monkeypatch.setattr("app.cli.main.REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    result = runner.invoke(cli, ["eval"])
    assert result.exit_code == 2
    assert "no development sets found" in result.stderr
    bad = runner.invoke(cli, ["eval", "--set", f"x={tmp_path}"])
    assert bad.exit_code == 2
    assert "does not hold articles.jsonl" in " ".join(bad.stderr.split())


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without a database, and no demo database at the repository's root."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("app.cli.main.REPO_ROOT", tmp_path / "repo")
    monkeypatch.delenv("STANCELINE_DATABASE_URL", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "list"],
        ["keys", "revoke", "1"],
        ["db", "check"],
        ["db", "downgrade", "base"],
        ["export", "--all", "--out", "backup.ndjson"],
    ],
)
def test_commands_on_stored_data_refuse_a_missing_database(elsewhere: Path, command: list[str]) -> None:
    result = runner.invoke(cli, command)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"no database at sqlite:///{elsewhere}/stanceline.db (nothing was created)" in message
    assert "pass --database-url or set STANCELINE_DATABASE_URL" in message
    assert sorted(p.name for p in elsewhere.iterdir()) == []  # nothing created, no export either
    # with a demo database next to it, the message says where that is and how to use it
    (elsewhere / "stanceline-demo.db").touch()
    again = runner.invoke(cli, command)
    assert again.exit_code == 2
    demo_db = elsewhere / "stanceline-demo.db"
    assert f"the demo's is at {demo_db}: pass --database-url sqlite:///{demo_db}" in again.stderr
    assert not (elsewhere / "stanceline.db").exists()


def test_commands_that_set_a_database_up_say_which_and_that_it_is_new(elsewhere: Path) -> None:
    demo_db = elsewhere / "stanceline-demo.db"
    demo_db.touch()
    created = runner.invoke(cli, ["keys", "create", "--name", "me", "--scope", "admin"])
    assert created.exit_code == 0, created.output
    assert created.stderr.splitlines()[0] == (
        f"database: sqlite:///{elsewhere}/stanceline.db (new file; the demo's is at {demo_db}: "
        f"pass --database-url sqlite:///{demo_db})"
    )
    assert created.stdout.startswith("sl_")
    # the file is there now: the next command names it and nothing more
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0
    assert listed.stderr.splitlines()[0] == f"database: sqlite:///{elsewhere}/stanceline.db"
    demo_db.unlink()
    relative = runner.invoke(cli, ["db", "upgrade", "--database-url", "sqlite:///other.db"])
    assert relative.stderr.splitlines()[0] == f"database: sqlite:///{elsewhere}/other.db (new file)"


def test_every_database_command_names_its_database_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    line = f"database: {url}"
    backup = tmp_path / "backup.ndjson"
    commands = [
        ["db", "upgrade"],
        ["keys", "create", "--name", "a"],
        ["keys", "list"],
        ["keys", "revoke", "1"],
        ["db", "check"],
        ["export", "--all", "--out", str(backup)],
        ["import", str(backup), "--force"],
        ["db", "downgrade", "base"],
    ]
    for command in commands:
        result = runner.invoke(cli, [*command, "--database-url", url])
        assert result.exit_code == 0, (command, result.output)
        named = [x for x in result.stderr.splitlines() if x.startswith("database: ")]
        assert named == [line if command != ["db", "upgrade"] else f"{line} (new file)"], command


def test_database_urls_are_shown_without_their_password() -> None:
    from app.cli.main import shown_url

    assert shown_url("postgresql+psycopg://app:s3cret@db.example:5432/stanceline") == (
        "postgresql+psycopg://app:***@db.example:5432/stanceline"
    )
    assert (
        shown_url("postgresql+psycopg://app@db.example/stanceline")
        == "postgresql+psycopg://app@db.example/stanceline"
    )
    assert shown_url("not a url://u:pw@h") == "not a url://u:***@h"
    assert shown_url("sqlite://") == "sqlite://"
    assert shown_url("sqlite:////srv/data/x.db") == "sqlite:////srv/data/x.db"


def test_a_password_never_reaches_the_database_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # nothing listens on port 9: the command fails after it has named the database
    monkeypatch.setenv("STANCELINE_DB_CONNECT_TIMEOUT_SECONDS", "2")
    result = runner.invoke(
        cli, ["keys", "list", "--database-url", "postgresql+psycopg://u:hunter2@127.0.0.1:9/x"]
    )
    assert result.exit_code != 0
    assert result.stderr.splitlines()[0] == "database: postgresql+psycopg://u:***@127.0.0.1:9/x"
    assert "hunter2" not in result.stderr


SHARED_SETS = devsets.shared_sets([REPO_ROOT])[0]


@pytest.mark.skipif(not SHARED_SETS, reason=f"the development sets are not next to {REPO_ROOT} (../shared)")
def test_the_shipped_claim_model_is_what_training_on_the_shared_sets_gives() -> None:
    result = runner.invoke(cli, ["train-default", "--check"])
    assert result.exit_code == 0, result.output
    assert "are what training gives" in " ".join(result.stderr.split())


def _lakeford_set(folder: Path) -> None:
    """Twelve short Lakeford articles coded by hand (tests/unit/extraction/lakeford.py)."""
    people = [("Mayor Clara Voss", "clara-voss"), ("The Transit Workers Union", "transit-union")]
    rows = []
    for n in range(12):
        speaker, slug = people[n % 2]
        verb, label = ("backed", "support") if n % 3 else ("rejected", "oppose")
        rows.append(
            {
                "id": f"L{n}",
                "storyline": f"week-{n % 3}",
                "published_at": f"2025-05-{n + 1:02d}T09:00:00Z",
                "text": f"{speaker} {verb} the congestion charge on Monday. "
                "Coastal Action Network said the congestion charge was discussed at its meeting.",
                "gold": [
                    {"actor": slug, "topic": lakeford.CHARGE, "label": label, "score": 1.0 if n % 3 else -1.0}
                ],
            }
        )
    folder.mkdir(parents=True)
    (folder / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "registry.json").write_text(json.dumps(lakeford.REGISTRY))


def test_train_default_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    _lakeford_set(tmp_path / "sets" / "lakeford")
    for out in ("a", "b"):
        result = runner.invoke(
            cli, ["train-default", "--sets", str(tmp_path / "sets"), "--out", str(tmp_path / out)]
        )
        assert result.exit_code == 0, result.output
    for name in ("claims-default.json", "claims-default-examples.jsonl.gz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    check = runner.invoke(
        cli, ["train-default", "--sets", str(tmp_path / "sets"), "--out", str(tmp_path / "a"), "--check"]
    )
    assert check.exit_code == 0, check.output
    (tmp_path / "a" / "claims-default.json").write_text("{}")
    changed = runner.invoke(
        cli, ["train-default", "--sets", str(tmp_path / "sets"), "--out", str(tmp_path / "a"), "--check"]
    )
    assert changed.exit_code == 1
    assert "other files" in changed.stderr


def test_train_without_reviews_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    result = runner.invoke(cli, ["train", "--database-url", url])
    assert result.exit_code == 1
    assert "nothing to learn from yet: 0 reviewed articles" in " ".join(result.stderr.split())
