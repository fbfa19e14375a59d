"""A seeded random sequence of writes through every path a user takes, for tests that check
what stays exact through them (aggregates, cached reads)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli.main import DEMO_CORPUS
from app.ingest import articles as ingest
from app.models import Observation
from app.registry import context as registry_context

TOPIC = "ground-troops-ukraine"
ACTORS = ["france", "united-kingdom", "germany", "emmanuel-macron", "keir-starmer", "russia", "europe"]
PARAGRAPHS = [
    p.strip()
    for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()
    for p in orjson.loads(line)["text"].split("\n\n")
    if p.strip()
]


def random_published(rng: random.Random) -> str:
    at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(200), hours=rng.randrange(24))
    return at.isoformat().replace("+00:00", "Z")


def random_article(rng: random.Random, url: str) -> dict[str, Any]:
    return {
        "url": url,
        "title": f"article {url}",
        "published_at": random_published(rng),
        "source": rng.choice(["Wire A", "Wire B"]),
        "text": "\n\n".join(rng.sample(PARAGRAPHS, rng.randint(2, 6))),
    }


class Workload:
    """Seeded random ingest / revise / batch / review / manual coding / delete / reextract steps,
    each through the path a user takes (the API, or the reextract use case)."""

    def __init__(self, client: TestClient, session: Session, seed: int) -> None:
        self.client, self.session, self.rng = client, session, random.Random(seed)
        self.urls: list[str] = []
        self.serial = 0

    def _new_url(self) -> str:
        self.serial += 1
        url = f"https://example.org/aggregate/{self.serial}"
        self.urls.append(url)
        return url

    def _observation_ids(self) -> list[int]:
        return list(self.session.scalars(select(Observation.id).order_by(Observation.id)))

    def _article_ids(self) -> list[int]:
        ids = self.session.scalars(select(Observation.article_id).where(Observation.article_id.is_not(None)))
        return sorted({i for i in ids if i is not None})

    def create(self) -> None:
        response = self.client.post("/v1/articles", json=random_article(self.rng, self._new_url()))
        assert response.status_code == 201, response.text

    def revise(self) -> None:
        if not self.urls:
            return self.create()
        response = self.client.post("/v1/articles", json=random_article(self.rng, self.rng.choice(self.urls)))
        assert response.status_code in (200, 201), response.text

    def batch(self) -> None:
        items: list[Any] = [random_article(self.rng, self._new_url()) for _ in range(self.rng.randint(1, 4))]
        if self.urls:  # revisions, and the same url twice in one batch
            again = self.rng.choice(self.urls)
            items += [random_article(self.rng, again), random_article(self.rng, again)]
        items.append({"url": "https://example.org/broken", "published_at": "not a date", "text": "x"})
        self.rng.shuffle(items)
        response = self.client.post("/v1/articles/batch", json={"articles": items})
        assert response.status_code == 200, response.text

    def review(self) -> None:
        ids = self._observation_ids()
        if not ids:
            return
        body = self.rng.choice(
            [
                {"score": round(self.rng.uniform(-1, 1), 3), "label": None},
                {"status": "rejected"},
                {"status": "verified"},  # un-rejects a rejected one
                {"score": -0.25, "status": "corrected"},
            ]
        )
        body = {k: v for k, v in body.items() if v is not None}
        response = self.client.patch(f"/v1/stances/{self.rng.choice(ids)}", json=body)
        assert response.status_code == 200, response.text

    def manual(self) -> None:
        at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=self.rng.randrange(200 * 24 * 60))
        body: dict[str, Any] = {
            "actor": self.rng.choice(ACTORS),
            "topic": self.rng.choice([TOPIC, "ceasefire-monitoring"]),
            "score": round(self.rng.uniform(-1, 1), 3),
            "confidence": round(self.rng.uniform(0.1, 1), 3),
            "observed_at": at.isoformat(),
        }
        articles = self._article_ids()
        if articles and self.rng.random() < 0.5:
            body["article_id"] = self.rng.choice(articles)
        response = self.client.post("/v1/stances", json=body)
        assert response.status_code == 201, response.text

    def delete(self) -> None:
        articles = self._article_ids()
        if articles:
            response = self.client.delete(f"/v1/articles/{self.rng.choice(articles)}")
            assert response.status_code == 200, response.text

    def reextract(self) -> None:
        articles = self._article_ids()
        if articles:
            context = registry_context.load_registry_context(self.session)
            ingest.reextract_article(self.session, self.rng.choice(articles), context=context, engine="rules")

    def run(self, steps: int) -> None:
        moves: list[tuple[Callable[[], None], int]] = [
            (self.create, 4),
            (self.revise, 2),
            (self.batch, 2),
            (self.review, 5),
            (self.manual, 3),
            (self.delete, 1),
            (self.reextract, 1),
        ]
        for _ in range(steps):
            move = self.rng.choices([m for m, _ in moves], weights=[w for _, w in moves])[0]
            move()
