"""The real server under load, and its memory.

`stanceline serve --workers 2` on a free port against a copy of the corpus (public reads, log
level WARNING), driven by wrk (Debian's package: one thread, 32 connections) or, without wrk, an
asyncio httpx client with 32 connections. Each load is measured after a discarded run of the same
load (up to 4 s) that warms the server.

The floor is the same load on GET /healthz, a minimal JSON answer of the same app (no database):
what the framework, the server and the client cost on this machine in this run. Every other
figure is a ratio to it.

Timelines: the requests cycle through every (topic, actor) series of the corpus: GET
/v1/timelines?topic=T&actor=A&interval=week. Run as the server runs by default (each worker keeps
finished reads while the data is unchanged: after the first pass, reads are answered from memory)
and again with the cache off (every request computes its timeline).

The other cached reads, each on its own, cycling through several URLs as the timelines do: topics
and one topic, actors (filters, a page) and one actor, stance pages (the first three pages of
twenty series, followed by their keyset cursors), shifts (20 series' shifts are detected in the
copy before the server starts), compare of two states and the agreement network of each topic.
Each URL is first asked four times in turn (so that both workers hold it), then the load runs as
above. The target is 0.7x the floor for each.

Memory: the peak resident set (VmHWM in /proc) of each server process after the timeline load
and two ingested articles (before the other reads); the figure is the largest worker's (the total over the supervisor, the
workers and uvicorn's helper process is in the details), with the rules engine and then with
the embeddings engine (whose model loads on the first ingest).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.extraction import ENGINES
from app.models import Actor, Topic
from app.shifts import refresh as shifts
from bench.corpus import BLOC, SHAPE, Corpus, _admin, postgres_database
from bench.ingest import admin_key, corpus
from bench.stats import Result, percentile

CONNECTIONS = 32
WORKERS = 2
FLOOR_PATH = "/healthz"
READ_TARGET = 0.7  # each cached read, as a share of the floor's requests/s
# non-members of the corpus's bloc: refreshing their shifts does not recompute the bloc's roll-up
SHIFT_STATES = range(27, 31)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def corpus_copy(source: Corpus) -> Iterator[str]:
    """A writable copy of the corpus (the server under test may ingest into it)."""
    if source.engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="stanceline-bench-") as tmp:
            path = Path(tmp) / "served.db"
            shutil.copyfile(str(make_url(source.url).database), path)
            yield f"sqlite:///{path}"
        return
    name = f"{make_url(source.url).database}_served"
    with psycopg.connect(_admin(source.url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(source.url).database}"')
    url, _ = postgres_database(name, fresh=False)
    try:
        yield url
    finally:
        with psycopg.connect(_admin(source.url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(
    url: str, *, engine: str, extra: dict[str, str] | None = None, workers: int = WORKERS
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`stanceline serve --workers 2` (or `workers`) on a free port; yields its base URL and process.
    With one worker the process is the worker itself (uvicorn runs in it, no supervisor)."""
    port = _free_port()
    env = {
        **os.environ,
        **(extra or {}),
        "STANCELINE_DATABASE_URL": url,
        "STANCELINE_PUBLIC_READ": "true",
        "STANCELINE_LOG_LEVEL": "WARNING",
        "STANCELINE_EXTRACTION_ENGINE": engine,
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--workers", str(workers), "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, process, log, settle=workers > 1)
            yield base, process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(
    base: str, process: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 60.0, *, settle: bool = True
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            stderr = log.read().decode(errors="replace")
            raise RuntimeError(f"the server exited with {process.returncode}: {stderr[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                if settle:  # both workers answer once each has started; give the second a moment
                    time.sleep(1.0)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server at {base} was not ready after {timeout:.0f} s")


def _series_paths() -> list[str]:
    return [
        f"/v1/timelines?topic=bench-topic-{t}&actor=bench-state-{a:02d}&interval=week"
        for a in range(SHAPE.states)
        for t in range(SHAPE.topics)
    ]


def _detect_shifts(url: str) -> int:
    """Record the shifts of a few series in the served copy (the corpus has none); returns how many."""
    settings = Settings(database_url=url)
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            topics = dict(session.execute(select(Topic.slug, Topic.id)).tuples().all())
            actors = dict(session.execute(select(Actor.slug, Actor.id)).tuples().all())
            pairs = [
                (topics[f"bench-topic-{t}"], actors[f"bench-state-{a:02d}"])
                for t in range(SHAPE.topics)
                for a in SHIFT_STATES
            ]
            return len(shifts.refresh_shifts(session, touched=pairs, settings=settings))
    finally:
        engine.dispose()


def _read_paths(base: str) -> dict[str, list[str]]:
    """The URLs each cached read cycles through; stance pages past the first follow their cursors."""
    topics = [f"bench-topic-{t}" for t in range(SHAPE.topics)]
    states = [f"bench-state-{a:02d}" for a in range(SHAPE.states)]
    pages = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for topic in topics:
            for state in states[:4]:
                path = f"/v1/stances?topic={topic}&actor={state}&limit=100"
                for _ in range(3):
                    pages.append(path)
                    cursor = client.get(path).raise_for_status().json()["next_cursor"]
                    if cursor is None:
                        break
                    path = f"/v1/stances?topic={topic}&actor={state}&limit=100&cursor={cursor}"
    return {
        "/v1/topics": ["/v1/topics", "/v1/topics?limit=2"],
        "/v1/topics/{slug}": [f"/v1/topics/{t}" for t in topics],
        "/v1/actors": ["/v1/actors", "/v1/actors?kind=state", "/v1/actors?limit=10", "/v1/actors?q=bloc"],
        "/v1/actors/{slug}": [f"/v1/actors/{a}" for a in [*states, BLOC]],
        "/v1/stances": pages,
        "/v1/shifts": ["/v1/shifts", *(f"/v1/shifts?topic={t}" for t in topics)],
        "/v1/compare": [
            f"/v1/compare?topic={t}&actor={states[a]}&actor={states[a + 1]}" for t in topics for a in range(4)
        ],
        "/v1/network": [f"/v1/network?topic={t}" for t in topics],
    }


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (the uvicorn supervisor spawns the workers, maybe via a helper)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def memory(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    processes = [process.pid, *_descendants(process.pid)]
    peaks = {pid: round(_peak_rss_mb(pid), 1) for pid in processes}
    workers = [peaks[pid] for pid in processes[1:]]
    return {
        "total_mb": round(sum(peaks.values()), 1),
        "supervisor_mb": peaks[process.pid],
        "workers_mb": sorted(workers, reverse=True),
    }


def _wrk(base: str, paths: list[str], seconds: float) -> dict[str, Any]:
    script = "\n".join(
        [
            "local paths = {" + ", ".join(f'"{p}"' for p in paths) + "}",
            "local i = 0",
            "request = function()",
            "  i = i + 1",
            '  return wrk.format("GET", paths[(i % #paths) + 1])',
            "end",
        ]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            handle.name,
            base,
        ]
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    finally:
        os.unlink(handle.name)
    latency = {
        share: _milliseconds(value, unit)
        for share, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
    }
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "client": "wrk -t1 -c32",
        "requests_per_s": float(rate.group(1)) if rate else 0.0,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "failed": int(failed.group(1)) if failed else 0,
        "socket_errors": errors.group(0) if errors else None,
    }


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _httpx(base: str, paths: list[str], seconds: float) -> dict[str, Any]:
    async def drive() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        failed = 0
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            started = time.perf_counter()
            deadline = started + seconds

            async def user(offset: int) -> None:
                nonlocal failed
                i = offset
                while time.perf_counter() < deadline:
                    begin = time.perf_counter()
                    response = await client.get(paths[i % len(paths)])
                    latencies.append(time.perf_counter() - begin)
                    failed += response.status_code != 200
                    i += CONNECTIONS

            await asyncio.gather(*(user(k) for k in range(CONNECTIONS)))
            return latencies, failed, time.perf_counter() - started

    latencies, failed, elapsed = asyncio.run(drive())
    return {
        "client": "httpx asyncio, 32 connections (wrk not installed)",
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * percentile(latencies, 0.5),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "failed": failed,
        "socket_errors": None,
    }


def _ingest_one(base: str, url: str) -> None:
    """One article through the API: loads the extraction engine in the worker that takes it."""
    [article] = corpus(1, f"rss-{time.time_ns()}")
    response = httpx.post(
        f"{base}/v1/articles",
        json=article,
        headers={"Authorization": f"Bearer {admin_key(url)}"},
        timeout=120,
    )
    if response.status_code not in (200, 201):
        raise RuntimeError(f"ingest failed: {response.status_code} {response.text[:300]}")


def _warm_up(seconds: float) -> float:
    """Seconds of discarded load before a measured one: up to 4, none for a smoke run (--tiny)."""
    return min(4.0, seconds) if seconds >= 2 else 0.0


def _warm(base: str, paths: list[str], count: int, *, timeout: float = 30) -> None:
    with httpx.Client(base_url=base, timeout=timeout) as client:
        for i in range(count):
            client.get(paths[i % len(paths)])


def run(source: Corpus, *, seconds: float, with_embeddings: bool = True) -> list[Result]:
    paths = _series_paths()
    results = []
    drive = _wrk if shutil.which("wrk") else _httpx

    def measured(base: str, load_paths: list[str]) -> dict[str, Any]:
        # each load is measured after a discarded run of the same load (warm-up, as is usual)
        if _warm_up(seconds):
            drive(base, load_paths, _warm_up(seconds))
        return drive(base, load_paths, seconds)

    with corpus_copy(source) as url:
        recorded = _detect_shifts(url)
        with server(url, engine="rules") as (base, process):
            # the minimal JSON answer of the same app: what the framework costs
            floor = measured(base, [FLOOR_PATH])
            load = measured(base, paths)
            _ingest_one(base, url)
            _ingest_one(base, url)  # two, so that each worker most likely took one
            # before the other reads: computing a network reads a topic's every observation
            rules_memory = memory(process)
            reads: dict[str, tuple[int, dict[str, Any]]] = {}
            for name, urls in _read_paths(base).items():
                # every URL computed in both workers before the load (a network takes seconds)
                _warm(base, urls, 4 * len(urls), timeout=600)
                reads[name] = (len(urls), measured(base, urls))
        # every request computed: what a read costs when the data changed since it was last asked for
        with server(url, engine="rules", extra={"STANCELINE_READ_CACHE_MB": "0"}) as (base, _):
            uncached = measured(base, paths)
        floor_rate = floor["requests_per_s"]
        rate, p99 = load["requests_per_s"], load["p99_ms"]
        met = rate >= 500 and p99 is not None and p99 <= 50 and load["failed"] == 0
        scenario = f"HTTP GET timeline, {CONNECTIONS} connections, {WORKERS} workers"
        results.append(
            Result(
                scenario=scenario,
                engine=source.engine,
                size=source.size,
                unit="requests/s",
                value=rate,
                baseline=f"GET {FLOOR_PATH}",
                baseline_value=floor_rate,
                ratio=rate / floor_rate if floor_rate else None,
                target=">= 500/s, p99 <= 50 ms",
                met=met,
                details={**load, "series": len(paths), "floor": floor},
            )
        )
        results.append(
            Result(
                scenario=f"{scenario}, read cache off",
                engine=source.engine,
                size=source.size,
                unit="requests/s",
                value=uncached["requests_per_s"],
                baseline=f"GET {FLOOR_PATH}",
                baseline_value=floor_rate,
                ratio=uncached["requests_per_s"] / floor_rate if floor_rate else None,
                target="(none)",
                met=None,
                details={**uncached, "series": len(paths), "floor": floor},
            )
        )
        for name, (url_count, read) in reads.items():
            ratio = read["requests_per_s"] / floor_rate if floor_rate else None
            results.append(
                Result(
                    scenario=f"HTTP GET {name} (cached), {CONNECTIONS} connections, {WORKERS} workers",
                    engine=source.engine,
                    size=source.size,
                    unit="requests/s",
                    value=read["requests_per_s"],
                    baseline=f"GET {FLOOR_PATH}",
                    baseline_value=floor_rate,
                    ratio=ratio,
                    target=f">= {READ_TARGET}x GET {FLOOR_PATH}",
                    met=ratio is not None and ratio >= READ_TARGET and read["failed"] == 0,
                    details={**read, "urls": url_count, "shifts_recorded": recorded, "floor": floor},
                )
            )
        results.append(_rss_result(source, "rules", rules_memory))
        if "embeddings" in ENGINES and with_embeddings:
            with server(url, engine="embeddings") as (base, process):
                _warm(base, paths, 50)
                _ingest_one(base, url)
                _ingest_one(base, url)
                results.append(_rss_result(source, "embeddings", memory(process)))
        else:
            results.append(
                Result(
                    scenario="server peak RSS per worker, embeddings engine",
                    engine=source.engine,
                    size=source.size,
                    unit="MB",
                    value=None,
                    baseline="(absolute)",
                    baseline_value=None,
                    ratio=None,
                    target="(none)",
                    met=None,
                    skipped="the embeddings packages are not installed"
                    if with_embeddings
                    else "not in a smoke run (--tiny): loading the model is most of its time",
                )
            )
    return results


def _rss_result(source: Corpus, engine: str, peak: dict[str, Any]) -> Result:
    """The target is per worker (each worker is a whole copy of the service; the supervisor only
    spawns and watches them); the total over every process is in the details."""
    rules = engine == "rules"
    worker = max(peak["workers_mb"], default=0.0)
    return Result(
        scenario=f"server peak RSS per worker, {engine} engine",
        engine=source.engine,
        size=source.size,
        unit="MB",
        value=worker,
        baseline="(absolute)",
        baseline_value=None,
        ratio=None,
        target="<= 300 MB" if rules else "(none)",
        met=worker <= 300 if rules else None,
        details=peak,
    )
