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
