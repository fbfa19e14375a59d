"""Batch extraction over articles in the `articles.jsonl` format, and JSONL helpers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from app.extraction import build_extractor
from app.extraction.types import ArticleText, ExtractedObservation, RegistrySnapshot

PREDICTION_KEYS = (
    "article_id", "actor", "topic", "label", "score", "confidence", "observed_at", "evidence", "speaker", "shift",
)  # fmt: skip


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; blank lines are skipped, a bad line raises ValueError with its number."""
    rows: list[dict[str, Any]] = []
    with Path(path).open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON: {error}") from error
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def write_jsonl(rows: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write one JSON object per line; returns the number of rows written."""
    count = 0
    with Path(path).open("wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")
            count += 1
    return count


def parse_article(article: Mapping[str, Any], number: int) -> tuple[str, ArticleText]:
    article_id = article.get("id") or article.get("url")
    if not article_id:
        raise ValueError(f"article {number}: field 'id' (or 'url') is missing")
    text = article.get("text")
    if not isinstance(text, str):
        raise ValueError(f"article {number} ({article_id}): field 'text' must be a string")
    raw_published = article.get("published_at")
    if not raw_published:
        raise ValueError(f"article {number} ({article_id}): field 'published_at' is missing")
    try:
        published = datetime.fromisoformat(str(raw_published).replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(
            f"article {number} ({article_id}): field 'published_at' is not an ISO date: {raw_published!r}"
        ) from error
    title = article.get("title")
    return str(article_id), ArticleText(
        text=text,
        published_at=published,
        title=str(title) if title is not None else None,
        language=str(article.get("language") or "en"),
    )


def extract_corpus(
    articles: Iterable[Mapping[str, Any]], registry: RegistrySnapshot, engine: str = "rules"
) -> Iterator[dict[str, Any]]:
    """Prediction rows (the `score.py` format) for every article, in article order. An engine that
    waits on an endpoint (`concurrency` > 1: the llm engine) extracts that many articles at once."""
    extractor = build_extractor(registry, engine)
    parsed: Iterable[tuple[str, ArticleText]] = (
        parse_article(article, number) for number, article in enumerate(articles, 1)
    )
    found: Iterable[tuple[str, Sequence[ExtractedObservation]]]
    workers = int(getattr(extractor, "concurrency", 1))
    if workers > 1:
        listed = list(parsed)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            extracted = pool.map(extractor.extract, [text for _, text in listed])
            found = list(zip((article_id for article_id, _ in listed), extracted, strict=True))
    else:
        found = ((article_id, extractor.extract(text)) for article_id, text in parsed)
    for article_id, observations in found:
        for observation in observations:
            yield {
                "article_id": article_id,
                "actor": observation.actor,
                "topic": observation.topic,
                "label": observation.label,
                "score": observation.score,
                "confidence": observation.confidence,
                "observed_at": observation.observed_at.isoformat(),
                "evidence": observation.evidence,
                "speaker": observation.speaker,
                "shift": observation.shift,
            }
