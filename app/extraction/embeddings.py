"""The embeddings engine: the rules engine plus a semantic topic gate (MiniLM, offline).

Each topic gets a centroid: the mean of the MiniLM embeddings of its name, description
and examples from the registry. Every sentence of an article is embedded once; its cosine
similarity to each centroid

* adds a topic to a sentence that names no topic keyword, when the best topic clears
  `ADD_THRESHOLD` and beats the runner-up by `ADD_MARGIN` (a child topic close to its
  parent wins: children are more specific);
* vetoes keyword hits that rest only on weak keywords ("forces", "aid", "deploy") when the
  sentence is far from that topic (below `VETO_THRESHOLD`).

Stance, claimants and dates stay with the rules: cosine similarity does not tell support
from opposition. The thresholds are global (not per article or per topic) and were set on
the development corpus; see `docs` in the report for the measured effect.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from app.extraction import minilm
from app.extraction.rules import _SEMANTIC, RulesExtractor
from app.extraction.rules import VERSION as RULES_VERSION
from app.extraction.sentences import Sentence
from app.extraction.topics import TopicHit
from app.extraction.types import RegistrySnapshot

VERSION = f"embeddings-0.1.0+{RULES_VERSION}"
ADD_THRESHOLD = 0.55
ADD_MARGIN = 0.12
CHILD_SLACK = 0.05  # a child topic within this much of its parent's similarity wins
VETO_THRESHOLD = 0.28


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
    ("Accepting or rejecting a ceasefire itself is not coded here.")."""
    parts = [p.strip() for p in re.split(r"(?<=[.;])\s+", description) if p.strip()]
    excluded = [p for p in parts if _EXCLUSION.search(p)]
    covered = [p for p in parts if p not in excluded]
    return [t for t in (name, *covered, *examples) if t], excluded


class EmbeddingsExtractor(RulesExtractor):
    """Rules engine whose topic detection is refined by sentence similarity to topic centroids."""

    method = "embeddings"
    version = VERSION

    def __init__(self, registry: RegistrySnapshot, encoder: Encoder | None = None) -> None:
        super().__init__(registry)
        self.encoder = encoder or shared_encoder()
        self.topic_slugs = [t.slug for t in registry.topics]
        self.parents = {t.slug: t.parent for t in registry.topics}
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

    def refine_topics(
        self, sentences: list[Sentence], hits: list[list[TopicHit]], claimable: list[bool]
    ) -> list[list[TopicHit]]:
        # Only sentences the gate can change are embedded: a claimant is possible, and either no
        # keyword names a topic or only weak keywords do.
        wanted = [i for i, found in enumerate(hits) if claimable[i] and not any(h.strong for h in found)]
        sims = self.similarities([sentences[i].text for i in wanted])
        rows = dict(zip(wanted, sims, strict=True))
        column = {slug: i for i, slug in enumerate(self.topic_slugs)}
        out: list[list[TopicHit]] = []
        for sentence, found in zip(sentences, hits, strict=True):
            row = rows.get(sentence.index)
            if row is None:
                out.append(found)
                continue
            if found:
                kept = [
                    h
                    for h in found
                    if h.strong
                    or any(o.strong and o.topic == h.topic for o in found)
                    or row[column[h.topic]] >= VETO_THRESHOLD
                ]
                out.append(kept)
                continue
            topic = self._best_topic(row)
            if topic is not None and self._excluded(sentence.text, topic):
                topic = None
            if topic is None:
                out.append([])
                continue
            out.append([TopicHit(topic, 0, 0, _SEMANTIC, False)])
        return out

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
        runner_up = float(row[order[1]]) if len(order) > 1 else -1.0
        if float(row[best]) < ADD_THRESHOLD or float(row[best]) - runner_up < ADD_MARGIN:
            # A parent and its child are not rivals: the margin is taken against other topics.
            slug = self.topic_slugs[best]
            related = {slug, self.parents.get(slug)} | {c for c, p in self.parents.items() if p == slug}
            rivals = [float(row[i]) for i in order[1:] if self.topic_slugs[int(i)] not in related]
            if float(row[best]) < ADD_THRESHOLD or (rivals and float(row[best]) - rivals[0] < ADD_MARGIN):
                return None
        slug = self.topic_slugs[best]
        children = [i for i, s in enumerate(self.topic_slugs) if self.parents.get(s) == slug]
        for child in children:
            if float(row[child]) >= float(row[best]) - CHILD_SLACK:
                return self.topic_slugs[child]
        return slug
