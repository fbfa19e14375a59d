"""An invented harbour town for the review-queue tests: a harbour board, a society of lamplighters
and a ferry company argue about the lighthouse and the winter ferry.

Every article holds one stance the rules engine extracts; each extracted observation's confidence
is then set as a learned model would have written it (`CONFIDENCE`), so the queue's order is known:
uncertainty 1 - |2 * confidence - 1| falls from 1.0 (the first article) to 0.01 (the last).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.db import make_engine, make_sessionmaker, session_scope
from app.models import Observation
from app.schemas import ArticleCreate, RegistryImport
from app.shifts import refresh as shifts
from app.store import aggregates
from tests.browser.server import seed_database

GAZETTE = "https://example.org/quorran-gazette/2025"
LIGHTHOUSE, FERRY = "quorran-lighthouse", "quorran-winter-ferry"
BOARD, LAMPLIGHTERS, FERRIES = "quorran-harbour-board", "society-of-lamplighters", "skerry-ferries"

REGISTRY: dict[str, Any] = {
    "actors": [
        {
            "slug": BOARD,
            "name": "Quorran Harbour Board",
            "kind": "organization",
            "aliases": ["Quorran Harbour Board", "the harbour board"],
        },
        {
            "slug": LAMPLIGHTERS,
            "name": "Society of Lamplighters",
            "kind": "group",
            "aliases": ["Society of Lamplighters", "the lamplighters"],
        },
        {
            "slug": FERRIES,
            "name": "Skerry Ferries",
            "kind": "organization",
            "aliases": ["Skerry Ferries", "the ferry company"],
        },
    ],
    "topics": [
        {
            "slug": LIGHTHOUSE,
            "name": "Restoring the Quorran lighthouse",
            "description": "Relighting and repairing the old lighthouse on the Quorran headland.",
            "keywords": ["lighthouse restoration", "lighthouse"],
        },
        {
            "slug": FERRY,
            "name": "The winter ferry",
            "description": "Keeping a ferry crossing to the skerries through the winter.",
            "keywords": ["winter ferry", "winter crossing"],
        },
    ],
}

# (day, slug, title, sentence, confidence), most uncertain first
STANCES: list[tuple[str, str, str, str, float]] = [
    (
        "03-03",
        "board-lighthouse",
        "Board backs the lighthouse",
        "The Quorran Harbour Board said it supports the lighthouse restoration.",
        0.50,
    ),
    (
        "03-04",
        "lamplighters-lighthouse",
        "Lamplighters back the lighthouse",
        "The Society of Lamplighters said it supports the lighthouse restoration.",
        0.46,
    ),
    (
        "03-05",
        "ferries-winter",
        "Ferry company keeps the winter ferry",
        "Skerry Ferries said it supports the winter ferry.",
        0.58,
    ),
    (
        "03-06",
        "board-winter",
        "Board wary of the winter ferry",
        "The Quorran Harbour Board said it opposes the winter ferry.",
        0.38,
    ),
    (
        "03-10",
        "lamplighters-ferry",
        "Lamplighters for the winter crossing",
        "The Society of Lamplighters said it supports the winter ferry.",
        0.66,
    ),
    (
        "03-11",
        "ferries-lighthouse",
        "Ferry company on the lighthouse",
        "Skerry Ferries said it supports the lighthouse restoration.",
        0.30,
    ),
    (
        "03-12",
        "board-lighthouse-again",
        "Board still backs the lighthouse",
        "The Quorran Harbour Board said it still supports the lighthouse restoration.",
        0.74,
    ),
    (
        "03-13",
        "lamplighters-cost",
        "Lamplighters question the cost",
        "The Society of Lamplighters said it opposes the lighthouse restoration.",
        0.22,
    ),
    (
        "03-17",
        "ferries-winter-again",
        "Ferry company defends the crossing",
        "Skerry Ferries said it still supports the winter ferry.",
        0.82,
    ),
    (
        "03-18",
        "board-ferry-again",
        "Board against the winter crossing",
        "The Quorran Harbour Board said it still opposes the winter ferry.",
        0.14,
    ),
    (
        "03-19",
        "lamplighters-lamp",
        "Lamplighters welcome the new lamp",
        "The Society of Lamplighters said it backs the lighthouse restoration.",
        0.90,
    ),
    (
        "03-20",
        "ferries-doubt",
        "Ferry company doubts the lighthouse plan",
        "Skerry Ferries said it opposes the lighthouse restoration.",
        0.06,
    ),
    (
        "03-24",
        "board-funds",
        "Board funds the lighthouse",
        "The Quorran Harbour Board said it backs the lighthouse restoration.",
        0.97,
    ),
    (
        "03-25",
        "lamplighters-ferry-again",
        "Lamplighters still for the crossing",
        "The Society of Lamplighters said it still supports the winter ferry.",
        0.995,
    ),
]


def _article(day: str, slug: str, title: str, sentence: str) -> dict[str, str]:
    return {
        "url": f"{GAZETTE}/{day}/{slug}",
        "title": title,
        "published_at": f"2025-{day}T08:00:00Z",
        "source": "Quorran Gazette",
        "text": f"{sentence} The matter goes before the town meeting on Friday.",
    }


def build_quorran_database(path: Path) -> Path:
    """Registry and articles ingested as the demo database is built, then each observation given
    its article's confidence (the daily aggregates rebuilt and the shifts recomputed to match)."""
    articles = [ArticleCreate.model_validate(_article(*s[:4])) for s in STANCES]
    settings, ids = seed_database(path, RegistryImport.model_validate(REGISTRY), articles)
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine, settings)) as session:
            for article_id, stance in zip(ids, STANCES, strict=True):
                session.execute(
                    update(Observation)
                    .where(Observation.article_id == article_id)
                    .values(confidence=stance[4])
                )
            aggregates.rebuild(session)
            touched = {(o.topic_id, o.actor_id) for o in session.scalars(select(Observation))}
            shifts.refresh_shifts(session, touched=touched, settings=settings)
    finally:
        engine.dispose()
    return path
