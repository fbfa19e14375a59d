"""The embeddings engine: the staged pipeline plus topic relevance by sentence similarity (MiniLM, offline).

Each topic gets a centroid: the mean of the MiniLM embeddings of its name, description
and examples from the registry. Sentences that name an actor but no strong keyword are
embedded; the closest topic counts as the sentence's topic when its cosine similarity clears
the topic's `relevance_threshold` (registry data; `ADD_THRESHOLD` when unset) and beats other
topics by `ADD_MARGIN` (a child topic close to its parent wins: children are more specific).
A sentence closer to what a description excludes ("... is not coded here") than to the topic
gets nothing. Weak keywords are gated by the pipeline itself (they count only where the topic
is otherwise in view), so no veto is needed here.

Stance, claimants and dates stay with the pipeline: cosine similarity does not tell support
from opposition.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from app.extraction import minilm
from app.extraction.document import Document
from app.extraction.pipeline import VERSION as PIPELINE_VERSION
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import RegistrySnapshot

VERSION = f"embeddings-0.2.0+{PIPELINE_VERSION}"
ADD_THRESHOLD = 0.55
ADD_MARGIN = 0.12
CHILD_SLACK = 0.05  # a child topic within this much of its parent's similarity wins


class Encoder(Protocol):
    """What the gate needs from an encoder: unit vectors of a fixed width."""

    dimensions: int

    def encode(self, sentences: Sequence[str], batch_size: int = ...) -> np.ndarray: ...


_ENCODER: minilm.MiniLMEncoder | None = None
_ENCODER_LOCK = threading.Lock()


def shared_encoder() -> minilm.MiniLMEncoder:
    """One encoder per process (the ONNX session is thread-safe for `run`)."""
    global _ENCODER
    with _ENCODER_LOCK:
        if _ENCODER is None:
            _ENCODER = minilm.MiniLMEncoder()
        return _ENCODER


_EXCLUSION = re.compile(r"\bnot (?:coded|count(?:ed)?|included)\b|\bdoes not count\b|\bexcluded\b", re.I)


def topic_text(name: str, description: str, examples: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """What a topic covers (name, description, examples) and what its description excludes
    ("Parking fees in general are not coded here.")."""
    parts = [p.strip() for p in re.split(r"(?<=[.;])\s+", description) if p.strip()]
    excluded = [p for p in parts if _EXCLUSION.search(p)]
    covered = [p for p in parts if p not in excluded]
    return [t for t in (name, *covered, *examples) if t], excluded


class EmbeddingsExtractor(PipelineExtractor):
    """The staged extractor whose topic relevance also uses sentence similarity to topic centroids."""

    method = "embeddings"
    version = VERSION

    def __init__(self, registry: RegistrySnapshot, encoder: Encoder | None = None) -> None:
        super().__init__(registry)
        self.encoder = encoder or shared_encoder()
        self.topic_slugs = [t.slug for t in registry.topics]
        self.parents = {t.slug: t.parent for t in registry.topics}
        self.thresholds = np.array(
            [
                t.relevance_threshold if t.relevance_threshold is not None else ADD_THRESHOLD
                for t in registry.topics
            ],
            dtype=np.float32,
        )
        centroids = np.zeros((len(registry.topics), self.encoder.dimensions), dtype=np.float32)
        exclusions: list[np.ndarray] = []
        for row, topic in enumerate(registry.topics):
            covered, excluded = topic_text(topic.name, topic.description, topic.examples)
            mean = self.encoder.encode(covered).mean(axis=0)
            centroids[row] = mean / max(float(np.linalg.norm(mean)), 1e-9)
            exclusions.append(self.encoder.encode(excluded))
        self.centroids = centroids
        self.exclusions = exclusions

    def similarities(self, texts: list[str]) -> np.ndarray:
        """Cosine similarity of each text (rows) to each topic centroid (columns)."""
        if not texts or not self.topic_slugs:
            return np.zeros((len(texts), len(self.topic_slugs)), dtype=np.float32)
        return np.asarray(self.encoder.encode(texts) @ self.centroids.T, dtype=np.float32)

    def semantic_topics(self, doc: Document) -> list[dict[str, float]]:
        # Only sentences the similarity can change are embedded: an actor is named, and no strong
        # keyword already names a topic.
        wanted = [
            i for i, hits in enumerate(doc.topic_hits) if doc.mentions[i] and not any(h.strong for h in hits)
        ]
        out: list[dict[str, float]] = [{} for _ in doc.sentences]
        if not wanted:
            return out
        sims = self.similarities([doc.sentences[i].text for i in wanted])
        for i, row in zip(wanted, sims, strict=True):
            topic = self._best_topic(row)
            excluded = topic is not None and self._excluded(doc.sentences[i].text, topic)
            if topic is not None and not excluded:
                out[i] = {topic: float(row[self.topic_slugs.index(topic)])}
            if doc.trace is not None:
                doc.trace.similar(
                    i,
                    {slug: float(value) for slug, value in zip(self.topic_slugs, row, strict=True)},
                    {
                        slug: float(value)
                        for slug, value in zip(self.topic_slugs, self.thresholds, strict=True)
                    },
                    None if topic is not None and not excluded else self._why_not(row, excluded),
                )
        return out

    def _why_not(self, row: np.ndarray, excluded: bool) -> str:
        """Why the closest topic did not count for a sentence (tracing only)."""
        if excluded:
            return "the sentence is closer to what the topic's description excludes"
        order = np.argsort(-row)
        best = int(order[0])
        if float(row[best]) < float(self.thresholds[best]):
            return f"below its threshold {float(self.thresholds[best]):.2f}"
        return f"another topic is within {ADD_MARGIN:g} of it"

    def _excluded(self, text: str, topic: str) -> bool:
        """The sentence is closer to what the topic excludes than to the topic itself."""
        index = self.topic_slugs.index(topic)
        exclusion = self.exclusions[index]
        if not len(exclusion):
            return False
        vector = self.encoder.encode([text])[0]
        return float((exclusion @ vector).max()) >= float(self.centroids[index] @ vector)

    def _best_topic(self, row: np.ndarray) -> str | None:
        order = np.argsort(-row)
        best = int(order[0])
        slug = self.topic_slugs[best]
        related = {slug, self.parents.get(slug)} | {c for c, p in self.parents.items() if p == slug}
        rivals = [float(row[i]) for i in order[1:] if self.topic_slugs[int(i)] not in related]
        if float(row[best]) < float(self.thresholds[best]) or (
            rivals and float(row[best]) - rivals[0] < ADD_MARGIN
        ):
            return None
        children = [i for i, s in enumerate(self.topic_slugs) if self.parents.get(s) == slug]
        for child in children:
            if float(row[child]) >= float(row[best]) - CHILD_SLACK:
                return self.topic_slugs[child]
        return slug
