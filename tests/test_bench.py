"""`python -m bench --tiny` runs every scenario end to end and writes them all to its JSON.

Timings are never asserted (they are the benchmark's business, as ratios within one run); this
proves that the suite works: corpus generation and its aggregate check, in-process timelines,
a real two-worker server under load and its memory, extraction speed against sentence splitting
and a one-worker server's memory with the extractor, batch ingest, bulk insert and the time of
`stanceline --help` against `python -c pass`. SQLite only,
to stay within seconds; `python -m bench` itself covers PostgreSQL when it is reachable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "timeline, one actor x topic",
    "timeline, all actors of a topic",
    "timeline, bloc roll-up (27 members)",
    "HTTP GET timeline, 32 connections, 2 workers",
    "HTTP GET timeline, 32 connections, 2 workers, read cache off",
    *(
        f"HTTP GET {read} (cached), 32 connections, 2 workers"
        for read in (
            "/v1/topics",
            "/v1/topics/{slug}",
            "/v1/actors",
            "/v1/actors/{slug}",
            "/v1/stances",
            "/v1/shifts",
            "/v1/compare",
            "/v1/network",
        )
    ),
    "server peak RSS per worker, rules engine",
    "server peak RSS per worker, embeddings engine",
    "sentence splitting only (extraction floor)",
    "extraction, rules engine, development sets (default engine)",
    "server worker peak RSS, rules extractor loaded",
    "extraction only (rules)",
    "batch ingest (100/request), stored, extraction queued (default)",
    "batch ingest (100/request), ?wait=true (extracted in the request)",
    "end to end (stored and extracted), 1 extraction worker",
    "end to end (stored and extracted), 2 extraction workers",
    "extraction worker killed mid-backlog (40 articles, 2 workers)",
    "observation bulk insert",
    "stanceline --help",
}


def test_the_tiny_suite_writes_every_scenario(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--engines", "sqlite", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert len(list(tmp_path.glob("bench-*.json"))) == 1
    rows = report["results"]
    assert {row["scenario"] for row in rows} == SCENARIOS
    for row in rows:
        if row["skipped"]:
            assert row["value"] is None, row
            continue
        assert row["value"] > 0 or row["unit"] == "articles wrong", row
        if row["unit"] == "ms":  # a timeline: service and raw query, both sampled
            assert row["baseline_value"] > 0, row
            assert row["details"]["samples"] >= 20, row
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline_value"]), row
    http = next(row for row in rows if row["scenario"].startswith("HTTP"))
    assert http["details"]["failed"] == 0
    assert http["details"]["floor"]["requests_per_s"] > 0
    floor, extracted, worker = (
        next(row for row in rows if row["scenario"].startswith(prefix))
        for prefix in ("sentence splitting", "extraction, ", "server worker peak RSS")
    )
    assert extracted["baseline_value"] == floor["value"]
    assert extracted["ratio"] == pytest.approx(extracted["value"] / floor["value"])
    assert extracted["details"]["per_wall_second"] > 0
    assert extracted["details"]["cpu_seconds"] > 0
    assert worker["details"]["articles_ingested"] >= 1
    killed = next(row for row in rows if row["scenario"].startswith("extraction worker killed"))
    assert killed["met"] is True, killed  # none missing, none twice: a correctness check, not a timing
    two = next(row for row in rows if row["scenario"].endswith("2 extraction workers"))
    assert two["details"]["vs_one_worker"] > 0
    cli_help = next(row for row in rows if row["scenario"] == "stanceline --help")
    assert cli_help["unit"] == "s"
    assert cli_help["baseline"] == "python -c pass"
    assert cli_help["details"]["runs"] == 3
    assert cli_help["ratio"] == pytest.approx(cli_help["value"] / cli_help["baseline_value"])
    assert report["corpora"][0]["size"] == 3000
    assert "| scenario | engine | size |" in done.stdout  # the Markdown table
