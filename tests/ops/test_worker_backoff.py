"""While the database is down the background worker waits longer and longer between rounds and
says so once; when it is back, it says that once and returns to its poll interval."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.jobs.periodic import MAX_BACKOFF_SECONDS, BackgroundWorker

POLL = 0.5


def _down_url(database_url: str, tmp_path: Path) -> str:
    """A database of the same kind that cannot be reached: a refused port, a missing folder."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'missing' / 'stanceline.db'}"
    return "postgresql+psycopg://postgres@127.0.0.1:9/stanceline"


def test_the_worker_backs_off_and_logs_one_line_per_change_of_state(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=database_url, worker_poll_seconds=POLL, feed_poll_seconds=3600)
    down = make_engine(Settings(database_url=_down_url(database_url, tmp_path)))
    up = make_engine(settings)
    factory: sessionmaker[Session] = make_sessionmaker(down)
    worker = BackgroundWorker(settings, factory)
    caplog.set_level(logging.DEBUG, logger="app")
    try:
        waits = [worker.poll() for _ in range(8)]
        assert waits == [1.0, 2.0, 4.0, 8.0, 16.0] + [MAX_BACKOFF_SECONDS] * 3
        failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.getMessage().split(" ", 1)[0] for r in failures] == ["worker.round_failed"]
        (failure,) = failures
        assert failure.exc_info is None  # the database's error: its first line, no traceback
        assert "OperationalError" in failure.getMessage()
        assert "\n" not in failure.getMessage()
        assert "retry_in=1.0s" in failure.getMessage()
        assert "Traceback" not in caplog.text

        caplog.clear()
        factory.configure(bind=up)
        assert worker.poll() == POLL
        assert worker.poll() == POLL
        assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "app.jobs.periodic"] == [
            ("INFO", "worker.recovered failed_rounds=8")
        ]

        caplog.clear()
        factory.configure(bind=down)
        assert [worker.poll() for _ in range(3)] == [1.0, 2.0, 4.0]  # down again: from the start
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    finally:
        down.dispose()
        up.dispose()


def test_an_error_that_is_not_the_database_s_is_logged_once_with_its_traceback(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", worker_poll_seconds=POLL)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("a bug\nwith a second line")

    monkeypatch.setattr("app.jobs.periodic.run_once", broken)
    worker = BackgroundWorker(settings, make_sessionmaker(make_engine(settings)))
    caplog.set_level(logging.INFO, logger="app.jobs.periodic")
    assert [worker.poll() for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]
    (failure,) = caplog.records
    assert failure.getMessage().startswith("worker.round_failed error=ValueError: a bug retry_in=1.0s")
    assert failure.exc_info is not None
