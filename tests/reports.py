"""Figures a test reports in the run's summary, whether the suite runs in one process or under
pytest-xdist (whose workers' output never reaches the terminal): a worker writes each section to
a file that the controlling process prints at the end (`tests/conftest.py`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPORTS = Path(os.environ.get("STANCELINE_TEST_ARTIFACTS", "test-artifacts")) / "reports"


def under_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def publish(config: pytest.Config, title: str, lines: list[str]) -> None:
    """Print `lines` under `title` in the summary; from an xdist worker, through a file."""
    if under_xdist_worker(config):
        REPORTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        worker = config.workerinput["workerid"]  # type: ignore[attr-defined]
        (REPORTS / f"{name}-{worker}.txt").write_text("\n".join([title, *lines]) + "\n", encoding="utf-8")
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", title)
        for line in lines:
            reporter.write_line(line)


def clear() -> None:
    """Forget the sections of an earlier run (the controlling process, at the start)."""
    if REPORTS.is_dir():
        for stale in REPORTS.glob("*.txt"):
            stale.unlink()


def print_published(reporter: pytest.TerminalReporter) -> None:
    """The controlling process prints what its workers published."""
    if not REPORTS.is_dir():
        return
    for path in sorted(REPORTS.glob("*.txt")):
        title, *lines = path.read_text(encoding="utf-8").splitlines()
        reporter.write_sep("-", title)
        for line in lines:
            reporter.write_line(line)
