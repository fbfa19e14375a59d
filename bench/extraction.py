"""Extraction speed per core against sentence splitting, and a server worker's memory with the extractor.

  python -m bench.extraction [--engines rules,embeddings] [--copies N] [--repeats R] [--tiny] [--json PATH]

Texts: the development sets (`../shared/corpus` and `../shared/corpora/*` next to the repository, as
`stanceline eval` finds them), each extracted with its own registry; the demo corpus with the
starter registry when they are missing. In one run:

  sentence splitting   `split_sentences` over the same texts: the floor (what reading the text costs)
  extraction           the default engine's `extract` (engines built and warmed up beforehand), as
                       articles per CPU second of this process (`time.process_time`: articles/s per
                       core, whatever threads the engine uses) and per wall second, and how many
                       times the floor's time per article it takes; each set's own rates in details
  worker memory        `stanceline serve --workers 1` (one process: the worker) on a fresh SQLite
                       database, every set's registry posted, a few articles of each set ingested
                       through POST /v1/articles (the first builds the extractor), then the
                       process's peak resident set (VmHWM in /proc/<pid>/status)

Each rate is the median of `repeats` runs; a run repeats the texts `copies` times and goes on
until it has lasted `min_seconds` of wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from app import devsets
from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.extraction import build_extractor, nlp, resolve_engine
from app.extraction.corpus import read_jsonl
from app.extraction.sentences import split_sentences
from app.extraction.types import ArticleText, RegistrySnapshot
from app.ops import migrate
from app.registry.edits import STARTER_REGISTRY
from bench.stats import Result

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "extraction.json"
DEFAULT_ENGINE = str(Settings.model_fields["extraction_engine"].default)
PER_CORE = "articles/s per core"


@dataclass(frozen=True)
class Source:
    """One set's texts (as the extractor takes them and as the API takes them) and its registry."""

    name: str
    registry: dict[str, Any]
    texts: list[ArticleText]
    rows: list[dict[str, Any]]

    @property
    def snapshot(self) -> RegistrySnapshot:
        return RegistrySnapshot.from_dict(self.registry)


def _parse(row: dict[str, Any]) -> ArticleText:
    return ArticleText(
        text=row["text"],
        published_at=datetime.fromisoformat(str(row["published_at"]).replace("Z", "+00:00")),
        title=row.get("title"),
        language=str(row.get("language") or "en"),
    )


def sources(limit: int | None = None) -> tuple[list[Source], str]:
    """Every development set (at most `limit` articles each), or the demo corpus; and where they came from."""
    found, root = devsets.shared_sets([ROOT, Path.cwd()])
    if root is None:
        pairs = [("demo", read_jsonl(DEMO_CORPUS), json.loads(STARTER_REGISTRY.read_text(encoding="utf-8")))]
        origin = f"the demo corpus ({DEMO_CORPUS}; no development sets next to {ROOT})"
    else:
        loaded = [s.load() for s in found]
        pairs = [(s.name, s.articles, s.registry) for s in loaded]
        origin = "development sets " + ", ".join(
            f"{s.name} ({s.source.articles_path.parent})" for s in loaded
        )
    out = []
    for name, rows, registry in pairs:
        rows = rows[:limit] if limit else rows
        out.append(Source(name, registry, [_parse(r) for r in rows], rows))
    return out, origin


@dataclass(frozen=True)
class Timing:
    articles: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def per_core(self) -> float:
        return self.articles / self.cpu_seconds if self.cpu_seconds else 0.0

    @property
    def per_wall_second(self) -> float:
        return self.articles / self.wall_seconds if self.wall_seconds else 0.0


def timed(run: Callable[[], int], min_seconds: float) -> Timing:
    """Call `run` (which returns the articles it handled) until `min_seconds` of wall time have passed."""
    articles = 0
    cpu, wall = time.process_time(), time.perf_counter()
    while True:
        articles += run()
        if time.perf_counter() - wall >= min_seconds:
            break
    return Timing(articles, time.process_time() - cpu, time.perf_counter() - wall)


def _median(timings: Sequence[Timing]) -> dict[str, float]:
    return {
        "per_core": statistics.median(t.per_core for t in timings),
        "per_wall_second": statistics.median(t.per_wall_second for t in timings),
        "cpu_seconds": round(sum(t.cpu_seconds for t in timings), 3),
        "wall_seconds": round(sum(t.wall_seconds for t in timings), 3),
        "articles_timed": sum(t.articles for t in timings),
    }


TARGET_PER_CORE = 50  # the extraction issue's target for the default engine


def measure_speed(
    items: Sequence[Source], engines: Sequence[str], *, copies: int, repeats: int, min_seconds: float
) -> dict[str, Any]:
    """The floor and each engine over every source's texts (`copies` times), per core and per wall second."""
    texts = [text for source in items for text in source.texts] * copies

    def split_all() -> int:
        for text in texts:
            split_sentences(text.text)
        return len(texts)

    floor = _median([timed(split_all, min_seconds) for _ in range(repeats)])
    sentences = [[s.text for s in split_sentences(text.text)] for text in texts]

    def parse_all() -> int:
        for article in sentences:
            nlp.clear_cache()  # the texts repeat `copies` times: each pass parses afresh
            nlp.parse(article)
        return len(texts)

    nlp.parse(["Warm up."])
    # the parser over every sentence of every article: what parsing costs at most
    parser = _median([timed(parse_all, min_seconds) for _ in range(max(1, repeats // 2))])
    out: dict[str, Any] = {
        "articles": len(texts),
        "copies": copies,
        "floor": floor,
        "parser_every_sentence": parser,
        "engines": {},
    }
    for engine in engines:
        extractors = [(s, build_extractor(s.snapshot, engine)) for s in items]
        for source, extractor in extractors:
            extractor.extract(source.texts[0])  # warm up: model load, compiled patterns, caches

        def extract_all(pairs: list[tuple[Source, Any]] = extractors) -> int:
            for _ in range(copies):
                nlp.clear_cache()  # every pass is text the process has not parsed yet
                for source, extractor in pairs:
                    for text in source.texts:
                        extractor.extract(text)
            return len(texts)

        overall = _median([timed(extract_all, min_seconds) for _ in range(repeats)])
        per_set = {}
        for source, extractor in extractors:

            def one_set(s: Source = source, e: Any = extractor) -> int:
                nlp.clear_cache()
                for text in s.texts:
                    e.extract(text)
                return len(s.texts)

            per_set[source.name] = _median([timed(one_set, 0.0)])
        out["engines"][engine] = {
            **overall,
            "times_floor_cpu": floor["per_core"] / overall["per_core"] if overall["per_core"] else None,
            "times_floor_wall": floor["per_wall_second"] / overall["per_wall_second"]
            if overall["per_wall_second"]
            else None,
            "sets": per_set,
        }
    return out


def _api_article(row: dict[str, Any], tag: str) -> dict[str, Any]:
    article = {k: row[k] for k in ("title", "text", "published_at", "language") if row.get(k)}
    article["url"] = f"{row.get('url') or 'https://bench.invalid/' + str(row.get('id'))}#bench-{tag}"
    return article


def measure_worker_memory(items: Sequence[Source], engine: str, *, per_set: int) -> dict[str, Any]:
    """Peak RSS of a one-worker server after every registry and `per_set` articles of each set."""
    from bench.http import _descendants, _peak_rss_mb, server
    from bench.ingest import admin_key

    with tempfile.TemporaryDirectory(prefix="stanceline-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'memory.db'}"
        migrate.upgrade(url)
        headers = {"Authorization": f"Bearer {admin_key(url)}"}
        with (
            server(url, engine=engine, workers=1) as (base, process),
            httpx.Client(base_url=base, headers=headers, timeout=300) as client,
        ):
            started_mb = _peak_rss_mb(process.pid)
            for source in items:
                response = client.post("/v1/registry", json=source.registry)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"registry {source.name}: {response.status_code} {response.text[:300]}"
                    )
            ingested = observations = 0
            tag = str(time.time_ns())
            for source in items:
                for row in source.rows[:per_set]:
                    response = client.post("/v1/articles", json=_api_article(row, tag))
                    if response.status_code not in (200, 201):
                        raise RuntimeError(f"ingest failed: {response.status_code} {response.text[:300]}")
                    ingested += 1
                    observations += int(response.json().get("observations") or 0)
            pids = [process.pid, *_descendants(process.pid)]
            peaks = {pid: round(_peak_rss_mb(pid), 1) for pid in pids}
    return {
        "engine": engine,
        "peak_mb": max(peaks.values()),
        "ready_mb": round(started_mb, 1),
        "processes_mb": list(peaks.values()),
        "articles_ingested": ingested,
        "observations": observations,
        "registries": [s.name for s in items],
    }


def results(speed: dict[str, Any], memory: dict[str, Any] | None, origin: str) -> list[Result]:
    floor = speed["floor"]
    common = {"texts": origin, "articles_per_pass": speed["articles"], "copies": speed["copies"]}
    rows = [
        Result(
            scenario="sentence splitting only (extraction floor)",
            engine="-",
            size=None,
            unit=PER_CORE,
            value=floor["per_core"],
            baseline="(baseline)",
            baseline_value=floor["per_core"],
            ratio=1.0,
            target="(baseline)",
            met=None,
            details={**common, **floor},
        )
    ]
    for engine, figures in speed["engines"].items():
        rows.append(
            Result(
                scenario=f"extraction, {engine} engine, development sets"
                + (" (default engine)" if engine == DEFAULT_ENGINE else ""),
                engine="-",
                size=None,
                unit=PER_CORE,
                value=figures["per_core"],
                baseline="sentence splitting",
                baseline_value=floor["per_core"],
                ratio=figures["per_core"] / floor["per_core"] if floor["per_core"] else None,
                target=f">= {TARGET_PER_CORE} articles/s per core" if engine == DEFAULT_ENGINE else "(none)",
                met=figures["per_core"] >= TARGET_PER_CORE if engine == DEFAULT_ENGINE else None,
                details={
                    **common,
                    **figures,
                    "floor_per_wall_second": floor["per_wall_second"],
                    "parser_every_sentence_per_core": speed["parser_every_sentence"]["per_core"],
                },
            )
        )
    if memory is not None:
        rows.append(
            Result(
                scenario=f"server worker peak RSS, {memory['engine']} extractor loaded",
                engine="sqlite",
                size=None,
                unit="MB",
                value=memory["peak_mb"],
                baseline="(absolute)",
                baseline_value=None,
                ratio=None,
                target="<= 300 MB" if memory["engine"] == "rules" else "(none)",
                met=memory["peak_mb"] <= 300 if memory["engine"] == "rules" else None,
                details=memory,
            )
        )
    return rows


def run(*, tiny: bool, repeats: int, engine: str | None = None) -> list[Result]:
    """The suite's extraction rows: floor, the default engine, a worker's peak memory."""
    name = resolve_engine(engine or DEFAULT_ENGINE)
    items, origin = sources(limit=3 if tiny else None)
    speed = measure_speed(
        items, [name], copies=1 if tiny else 3, repeats=repeats, min_seconds=0.05 if tiny else 1.0
    )
    memory = measure_worker_memory(items, name, per_set=1 if tiny else 3)
    return results(speed, memory, origin)


def _cells(row: Result) -> tuple[str, str, str]:
    """(value, wall, ratio) for the standalone table."""
    if row.unit == "MB":
        d = row.details
        return f"{row.value:.0f} MB", f"{d['articles_ingested']} articles ingested", "-"
    wall = row.details.get("per_wall_second", 0.0)
    times = row.details.get("times_floor_cpu")
    ratio = "1.00x (floor)" if times is None else f"{row.ratio:.4f}x ({times:.0f}x the floor's time)"
    return f"{row.value:,.1f}/s per core", f"{wall:,.1f}/s wall", ratio


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--engines", default=DEFAULT_ENGINE, help=f"comma-separated (default {DEFAULT_ENGINE})"
    )
    parser.add_argument(
        "--copies", type=int, default=3, help="times the texts are repeated per run (default 3)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per scenario (default 5)")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="shortest run, wall time (default 1)")
    parser.add_argument("--no-memory", action="store_true", help="leave out the server worker's memory")
    parser.add_argument(
        "--tiny", action="store_true", help="3 articles per set, one short run: proves it runs"
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS, help=f"where to write results (default {RESULTS})"
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.copies, args.repeats, args.min_seconds = 1, 1, 0.05
    engines = list(dict.fromkeys(resolve_engine(e.strip()) for e in args.engines.split(",") if e.strip()))
    items, origin = sources(limit=3 if args.tiny else None)
    print(f"texts: {origin}")
    speed = measure_speed(
        items, engines, copies=args.copies, repeats=args.repeats, min_seconds=args.min_seconds
    )
    memory = None
    if not args.no_memory:
        memory = measure_worker_memory(items, engines[0], per_set=1 if args.tiny else 3)
    rows = results(speed, memory, origin)
    header = f"{'scenario':62} {'CPU (per core)':>20} {'wall':>22}  ratio to the floor"
    print(header)
    print("-" * len(header))
    for row in rows:
        value, wall, ratio = _cells(row)
        print(f"{row.scenario:62} {value:>20} {wall:>22}  {ratio}")
    report = {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "texts": origin,
        "speed": speed,
        "memory": memory,
        "rows": [r.as_dict() for r in rows],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
