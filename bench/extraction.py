"""Extraction throughput: sentence splitting alone (the floor), the rules engine, the embeddings engine.

python -m bench.extraction [--copies N] [--repeats R] [--json PATH]

The demo corpus (app/demo/articles.jsonl, a copy of the development corpus) is repeated
`copies` times; each scenario runs `repeats` times and the median is reported, as
articles per second on one core (onnxruntime is pinned to one thread) and as the factor
by which it is slower than the floor. Engines are built (and the MiniLM graph cached)
before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from app.cli import DEMO_CORPUS
from app.extraction import ENGINES, build_extractor
from app.extraction.sentences import split_sentences
from app.extraction.types import ArticleText, RegistrySnapshot
from app.registry import STARTER_REGISTRY

RESULTS = Path(__file__).resolve().parent / "results" / "extraction.json"


def articles(copies: int) -> list[ArticleText]:
    rows = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = [
        ArticleText(
            text=row["text"],
            published_at=datetime.fromisoformat(str(row["published_at"]).replace("Z", "+00:00")),
            title=row.get("title"),
        )
        for row in rows
    ]
    return parsed * copies


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(copies: int, repeats: int) -> dict[str, Any]:
    texts = articles(copies)
    snapshot = RegistrySnapshot.from_dict(json.loads(STARTER_REGISTRY.read_text(encoding="utf-8")))
    scenarios: dict[str, Callable[[], object]] = {
        "sentence split only (floor)": lambda: [split_sentences(a.text) for a in texts],
    }
    for engine in ("rules", "embeddings"):
        if engine not in ENGINES:
            continue
        extractor = build_extractor(snapshot, engine)
        extractor.extract(texts[0])  # warm up (model load, regex caches)
        scenarios[f"{engine} engine"] = lambda e=extractor: [e.extract(a) for a in texts]  # type: ignore[misc]
    rows = []
    floor_rate = 0.0
    for name, run in scenarios.items():
        seconds = median_seconds(run, repeats)
        rate = len(texts) / seconds
        floor_rate = floor_rate or rate
        rows.append(
            {
                "scenario": name,
                "articles": len(texts),
                "median_seconds": round(seconds, 4),
                "articles_per_second": round(rate, 1),
                "slower_than_floor": round(floor_rate / rate, 1),
            }
        )
    return {
        "copies": copies,
        "repeats": repeats,
        "engines": list(ENGINES),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=5, help="times the corpus is repeated (default 5)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per scenario (default 5)")
    parser.add_argument(
        "--json", type=Path, default=RESULTS, help=f"where to write results (default {RESULTS})"
    )
    args = parser.parse_args(argv)
    result = measure(args.copies, args.repeats)
    header = f"{'scenario':30} {'articles':>8} {'median s':>9} {'articles/s':>11} {'x floor':>8}"
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        print(
            f"{row['scenario']:30} {row['articles']:>8} {row['median_seconds']:>9.3f} "
            f"{row['articles_per_second']:>11.1f} {row['slower_than_floor']:>8.1f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
