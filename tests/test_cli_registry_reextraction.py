"""The command line: `stanceline ingest` warns (in yellow) when the registry is empty, and
`stanceline registry load` re-extracts the stored articles the loaded entries can affect, as a job it
follows with a progress bar (`--no-reextract`, `--no-wait`). Registry and articles: tests/harwick.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from app.cli import main as cli_module
from app.cli.main import cli
from app.models import Job, Observation
from tests.harwick import ACTORS, ARTICLES, EXPECTED, TOPIC

runner = CliRunner()


def _count(url: str, model: type) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(value)


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_ingest_warns_and_registry_load_applies_the_registry_to_stored_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'harwick.db'}"
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    screen = io.StringIO()
    monkeypatch.setattr(
        cli_module, "console", Console(file=screen, force_terminal=True, color_system="standard", width=300)
    )
    ingested = runner.invoke(cli, ["ingest", str(articles), "--database-url", url])
    assert ingested.exit_code == 0, ingested.output
    shown = screen.getvalue()
    assert "\x1b[33mwarning: no topics and no actors are defined: articles are stored but nothing" in shown
    assert "created: " in shown
    monkeypatch.undo()

    actors_only = _write(tmp_path / "actors.json", {"actors": ACTORS, "topics": []})
    loaded = runner.invoke(
        cli, ["registry", "load", str(actors_only), "--no-reextract", "--database-url", url]
    )
    assert loaded.exit_code == 0, loaded.output
    assert "re-extraction" not in loaded.output
    assert _count(url, Job) == 0

    full = _write(tmp_path / "harwick.json", {"actors": ACTORS, "topics": [TOPIC]})
    loaded = runner.invoke(cli, ["registry", "load", str(full), "--database-url", url])
    assert loaded.exit_code == 0, loaded.output
    related = sum(1 for expected in EXPECTED.values() if expected)
    assert f"re-extraction of {related} stored articles the change can affect (inprocess)" in loaded.output
    assert f"succeeded: {related} re-extracted, 0 missing, 0 failed" in loaded.output
    assert _count(url, Observation) == sum(len(expected) for expected in EXPECTED.values())

    # the job's articles are current; the library article, which no term reached, is still stamped
    # with the empty registry: extracted again (finding nothing), once
    again = runner.invoke(cli, ["ingest", str(articles), "--database-url", url])
    assert again.exit_code == 0, again.output
    assert "reextracted: 1" in again.output
    assert "unchanged: 2" in again.output
    assert "warning" not in again.output
    assert "unchanged: 3" in runner.invoke(cli, ["ingest", str(articles), "--database-url", url]).output

    renamed = [
        {**a, "aliases": [*a["aliases"], "the mayor"]} if a["slug"] == "tessa-lund" else a for a in ACTORS
    ]
    changed = _write(tmp_path / "renamed.json", {"actors": renamed, "topics": [TOPIC]})
    queued = runner.invoke(cli, ["registry", "load", str(changed), "--no-wait", "--database-url", url])
    assert queued.exit_code == 0, queued.output
    assert "re-extraction of 2 stored articles" in queued.output, "those naming the mayor"
    assert "is queued" in queued.output
