"""python -m bench: the whole suite, every figure a ratio to a baseline measured in the same run.

  python -m bench                                  # 1M and 10M, SQLite and PostgreSQL (when reachable)
  python -m bench --sizes 1M --engines sqlite      # a part of it
  python -m bench --tiny                           # seconds: proves the suite runs (the test does this)

Scenarios (see each module's docstring for exactly what is timed):
  bench.timelines   timeline for one actor x topic and for all actors of a topic (and a bloc
                    roll-up) vs the raw SQL bucket query on the raw table; medians and p99
  bench.http        GET timeline under 32 connections on `stanceline serve --workers 2`
                    (requests/s, p50, p99); peak RSS of the server, rules and embeddings engines
  bench.extraction  the default engine over the development sets' texts vs sentence splitting
                    alone (articles/s per core and per wall second); peak RSS of a one-worker
                    server with the extractor loaded
  bench.ingest      batch ingest (stored, extraction queued; and ?wait=true) and a backlog worked
                    off end to end by 1 and 2 extraction workers, vs extraction alone in a loop
  bench.extraction_kill
                    an extraction worker killed mid-backlog (1,000 articles): none missing or twice
  bench.inserts     observation bulk insert vs the driver's executemany (SQLite) / COPY (PostgreSQL)
  bench.cli_help    `stanceline --help`, a whole process, vs `python -c pass`; medians of turns

Corpora are generated with a fixed seed and cached (bench.corpus). The table is printed as
Markdown and written with every sample summary to bench/results/bench-<time>.json and
bench/results/latest.json (--out-dir elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from app.ops import migrate
from bench import cli_help, corpus, extraction, extraction_kill, http, ingest, inserts, timelines
from bench.stats import Result, load_average

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = ("timelines", "http", "extraction", "ingest", "kill", "insert", "cli")


def size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def _label(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000}M"
    if value >= 1_000 and value % 1_000 == 0:
        return f"{value // 1_000}k"
    return str(value)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1M,10M", help="corpus sizes in observations (default 1M,10M)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"a subset of {', '.join(SCENARIOS)}")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--samples", type=int, default=200, help="timed requests per timeline scenario (at most)"
    )
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds per timeline scenario (at least 20 samples)"
    )
    parser.add_argument("--http-seconds", type=float, default=15.0)
    parser.add_argument("--articles", type=int, default=500, help="articles per batch-ingest run")
    parser.add_argument("--kill-articles", type=int, default=1000, help="backlog of the kill scenario")
    parser.add_argument("--insert-rows", type=size, default=1_000_000, help="rows per bulk-insert run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each throughput scenario (median)")
    parser.add_argument("--cli-runs", type=int, default=15, help="timed runs of `stanceline --help` (median)")
    parser.add_argument("--tiny", action="store_true", help="a few seconds of everything, to prove it runs")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help=f"where results go (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.tiny:
        args.sizes, args.samples, args.budget, args.http_seconds = "3000", 20, 0.5, 1.0
        args.articles, args.insert_rows, args.repeats, args.cli_runs = 20, 2_000, 1, 3
        args.kill_articles = 40
    return args


def _versions(engines: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpu_count": os.cpu_count(),
        "migration": migrate.head_revision(),
    }
    if "postgresql" in engines:
        with psycopg.connect(corpus._admin(corpus.POSTGRES_URL)) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            found["postgresql"] = row[0] if row else None
    return found


def _scratch_databases(engines: list[str], tmp: Path, name: str = "ingest") -> dict[str, str]:
    """Empty migrated databases for the ingest scenarios."""
    out = {}
    for engine in engines:
        if engine == "sqlite":
            out[engine] = f"sqlite:///{tmp / f'{name}.db'}"
        else:
            out[engine], _ = corpus.postgres_database(f"sl_bench_{name}", fresh=True)
        migrate.upgrade(out[engine])
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    notes = []
    engines = []
    for engine in wanted:
        problem = corpus.postgres_reachable() if engine == "postgresql" else None
        if problem:
            notes.append(f"{problem}: its scenarios are left out")
            print(notes[-1])
        else:
            engines.append(engine)
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": load_average(),
        "versions": _versions(engines),
        "options": {k: str(v) for k, v in vars(args).items()},
    }
    results: list[Result] = []
    corpora: list[dict[str, Any]] = []
    for engine in engines:
        for n in [size(s) for s in args.sizes.split(",") if s.strip()]:
            if not only & {"timelines", "http"}:
                break
            source = corpus.ensure(engine, n, args.seed)
            corpora.append(
                {"engine": engine, "size": n, "url": source.url, "build_seconds": source.build_seconds}
            )
            if "timelines" in only:
                print(f"timelines: {engine}, {_label(n)} observations ...")
                results += timelines.run(source, count=args.samples, budget_seconds=args.budget)
            if "http" in only:
                print(f"http: {engine}, {_label(n)} observations ...")
                results += http.run(source, seconds=args.http_seconds, with_embeddings=not args.tiny)
    if "extraction" in only:
        print("extraction speed and a worker's memory ...")
        results += extraction.run(tiny=args.tiny, repeats=args.repeats)
    with tempfile.TemporaryDirectory(prefix="stanceline-bench-") as tmp:
        if "ingest" in only:
            print("batch ingest ...")
            results += ingest.run(
                _scratch_databases(engines, Path(tmp)), articles=args.articles, repeats=args.repeats
            )
        if "kill" in only:
            print("extraction worker killed mid-backlog ...")
            results += extraction_kill.run(
                _scratch_databases(engines, Path(tmp), "kill"), articles=args.kill_articles
            )
        if "insert" in only:
            print("observation bulk insert ...")
            results += inserts.run(engines, rows=args.insert_rows, repeats=args.repeats, seed=args.seed)
    if "cli" in only:
        print("stanceline --help ...")
        results += cli_help.run(runs=args.cli_runs)
    meta["load_average_after"] = load_average()
    meta["seconds"] = round(time.perf_counter() - started, 1)
    return {"meta": meta, "notes": notes, "corpora": corpora, "results": [r.as_dict() for r in results]}


def _figure(row: dict[str, Any]) -> tuple[str, str]:
    """(value, baseline) cells."""
    d = row["details"]
    if row["skipped"]:
        return f"skipped: {row['skipped']}", ""
    if row["unit"] == "s":
        return (
            f"median {row['value']:.3f} s ({d['runs']} runs)",
            f"{row['baseline']}: median {row['baseline_value']:.3f} s",
        )
    if row["unit"] == "ms":
        return (
            f"p99 {row['value']:.1f} ms (median {d['service_median_ms']:.1f})",
            f"p99 {row['baseline_value']:.1f} ms (median {d['raw_median_ms']:.1f})",
        )
    if row["unit"] == "requests/s":
        floor = d["floor"]
        return (
            f"{row['value']:.0f} req/s, p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
            f"{row['baseline']}: {floor['requests_per_s']:.0f} req/s, p50 {floor['p50_ms']:.1f} ms, "
            f"p99 {floor['p99_ms']:.1f} ms",
        )
    if row["unit"] == extraction.PER_CORE:
        value = f"{row['value']:,.0f} {row['unit']} (wall: {d['per_wall_second']:,.0f}/s)"
        if row["baseline"] == "(baseline)":
            return value, "(this is the baseline)"
        floor = f"{row['baseline_value']:,.0f} per core (wall: {d['floor_per_wall_second']:,.0f}/s)"
        return value, f"{row['baseline']}: {floor}"
    if row["unit"] == "MB" and "articles_ingested" in d:
        return (
            f"{row['value']:.0f} MB",
            f"{d['ready_mb']:.0f} MB when ready; {d['articles_ingested']} articles ingested, "
            f"registries of {', '.join(d['registries'])}",
        )
    if row["unit"] == "MB":
        workers = " + ".join(f"{w:.0f}" for w in d["workers_mb"])
        return (
            f"{row['value']:.0f} MB",
            f"all processes {d['total_mb']:.0f} MB ({d['supervisor_mb']:.0f} + {workers})",
        )
    if row["unit"] == "articles wrong":
        return (
            f"{d['missing']} missing, {d['more_than_expected']} extracted twice, "
            f"{d['duplicate_observations']} duplicate observations",
            f"killed after {d['killed_after_done']} of {d['articles']} done; drained in {d['seconds']} s",
        )
    unit = row["unit"]
    drained = d.get("shift_queue_drained_after_s")
    if drained is not None:
        value = f"{row['value']:,.0f} {unit}, shift queue empty {drained:.1f} s after the last batch"
        return value, f"{row['baseline_value']:,.0f} {unit} ({row['baseline']})"
    if row["baseline"] == "(baseline)":
        return f"{row['value']:,.0f} {unit}", "(this is the baseline)"
    return f"{row['value']:,.0f} {unit}", f"{row['baseline_value']:,.0f} {unit} ({row['baseline']})"


def table(report: dict[str, Any]) -> str:
    lines = [
        "| scenario | engine | size | service | baseline (same run) | ratio | target | met |",
        "| --- | --- | ---: | --- | --- | ---: | --- | :---: |",
    ]
    for row in report["results"]:
        value, baseline = _figure(row)
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        if row["unit"] == "ms" and "speedup" in row["details"]:
            ratio = f"{row['ratio']:.3f}x ({row['details']['speedup']:.0f}x faster)"
        if row["details"].get("times_floor_cpu"):
            ratio = f"{row['ratio']:.4f}x ({row['details']['times_floor_cpu']:.0f}x the floor's time)"
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(
            f"| {row['scenario']} | {row['engine']} | {_label(row['size'])} | {value} | {baseline} | {ratio} "
            f"| {row['target']} | {met} |"
        )
    meta = report["meta"]
    lines.append("")
    lines.append(
        f"{meta['versions']['cpu_count']} cores, Python {meta['versions']['python']}, SQLite "
        f"{meta['versions']['sqlite']}, PostgreSQL {meta['versions'].get('postgresql', 'n/a')}; load average "
        f"{meta['load_average_before']} before, {meta['load_average_after']} after; {meta['seconds']:.0f} s."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = options(argv)
    report = run(args)
    text = table(report)
    print()
    print(text)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = json.dumps(report, indent=1, default=str)
    targets = [args.out_dir / f"bench-{stamp}.json", args.out_dir / "latest.json"]
    for target in targets:
        target.write_text(body + "\n", encoding="utf-8")
    print(f"\nwritten to {', '.join(str(t) for t in targets)}")
    return report
