from __future__ import annotations

from pathlib import Path

import pytest

import app.extraction as extraction
from app.config import Settings
from app.main import create_app


def test_known_engine_without_its_packages_falls_back_to_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(extraction, "ENGINES", ("rules",))
    assert extraction.resolve_engine("embeddings") == "rules"
    assert "extraction.fallback engine=embeddings" in caplog.text
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", extraction_engine="embeddings"))
    assert app.state.settings.extraction_engine == "rules"


def test_installed_engine_is_kept_and_unknown_engine_refused() -> None:
    assert extraction.resolve_engine("rules") == "rules"
    if "embeddings" in extraction.ENGINES:
        assert extraction.resolve_engine("embeddings") == "embeddings"
    with pytest.raises(ValueError, match="unknown extraction engine 'oracle'"):
        extraction.resolve_engine("oracle")


def test_every_command_that_extracts_falls_back_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """One settings function for every command that extracts (`stanceline feeds poll` once skipped
    the fallback `stanceline ingest` made, and failed on an engine whose packages were missing)."""
    import typer

    from app.cli import extract as cli_extract
    from app.cli import jobs as cli_jobs
    from app.cli import main as cli
    from app.cli.common import extracting

    monkeypatch.setattr(extraction, "ENGINES", ("rules",))
    assert extracting(Settings(extraction_engine="embeddings")).extraction_engine == "rules"
    with pytest.raises(typer.Exit) as refused:
        extracting(Settings(extraction_engine="oracle"))
    assert refused.value.exit_code == 2
    monkeypatch.setenv("STANCELINE_EXTRACTION_ENGINE", "embeddings")
    monkeypatch.setattr("app.config.get_settings", lambda: Settings(extraction_engine="embeddings"))
    assert cli_extract._settings(None, None).extraction_engine == "rules"
    for module in (cli, cli_jobs):
        assert "extracting" in vars(module), module.__name__
