"""Plain data that flows into and out of extraction.

Extraction is a pure library: it receives a registry snapshot and an article as
these dataclasses and returns observations as dataclasses. It never touches the
database or the web layer, so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from app.extraction.claim_model import ClaimModel

Label = Literal["support", "oppose", "neutral", "mixed"]
LABELS: tuple[Label, ...] = ("support", "oppose", "neutral", "mixed")


@dataclass(frozen=True)
class MembershipEntry:
    parent: str
    role: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class ActorEntry:
    slug: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    memberships: tuple[MembershipEntry, ...] = ()


@dataclass(frozen=True)
class TopicEntry:
    slug: str
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    parent: str | None = None
    # Keywords that name the topic only alongside another sign of it ("forces", "aid").
    weak_keywords: tuple[str, ...] = ()
    # Phrases that mark an unrelated sense of a keyword ("parking charge" beside "congestion charge", "rally the troops").
    excluded_phrases: tuple[str, ...] = ()
    # How close a clause must be to the topic (0..1) to count as about it; None: the engine's default.
    relevance_threshold: float | None = None


def _as_date(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class RegistrySnapshot:
    """Every actor and topic the extractor may emit, hashable so compiled matchers can be cached."""

    actors: tuple[ActorEntry, ...] = ()
    topics: tuple[TopicEntry, ...] = ()
    # the deployment's trained claim model (`stanceline train`); None: the shipped default
    claim_model: ClaimModel | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegistrySnapshot:
        """Read the registry JSON format of `shared/corpus/registry.json`."""
        actors = tuple(
            ActorEntry(
                slug=item["slug"],
                name=item.get("name") or item["slug"],
                kind=item.get("kind") or "group",
                aliases=tuple(item.get("aliases") or ()),
                memberships=tuple(
                    MembershipEntry(
                        parent=m["parent"],
                        role=m.get("role"),
                        valid_from=_as_date(m.get("from")),
                        valid_to=_as_date(m.get("to")),
                    )
                    for m in item.get("memberships") or ()
                ),
            )
            for item in data.get("actors") or ()
        )
        topics = tuple(
            TopicEntry(
                slug=item["slug"],
                name=item.get("name") or item["slug"],
                description=item.get("description") or "",
                keywords=tuple(item.get("keywords") or ()),
                examples=tuple(item.get("examples") or ()),
                parent=item.get("parent"),
                weak_keywords=tuple(item.get("weak_keywords") or ()),
                excluded_phrases=tuple(item.get("excluded_phrases") or ()),
                relevance_threshold=(
                    float(item["relevance_threshold"])
                    if item.get("relevance_threshold") is not None
                    else None
                ),
            )
            for item in data.get("topics") or ()
        )
        return cls(actors=actors, topics=topics)


@dataclass(frozen=True)
class ArticleText:
    text: str
    published_at: datetime
    title: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class ExtractedObservation:
    """One stance: `actor` holds `score` on `topic` at `observed_at`, shown by `evidence`.

    `evidence_start`/`evidence_end` are character offsets into the article text,
    so `text[evidence_start:evidence_end] == evidence`.
    """

    actor: str
    topic: str
    score: float
    label: Label
    confidence: float
    observed_at: date
    evidence: str
    evidence_start: int
    evidence_end: int
    speaker: str | None = None
    shift: bool = False
    extras: Mapping[str, Any] = field(default_factory=dict)


class Extractor(Protocol):
    """What every extraction engine implements; engines are built per registry snapshot."""

    method: str  # stored in observation.method: "rules", "model", "llm"
    version: str  # stored in observation.extractor_version

    def extract(self, article: ArticleText) -> Sequence[ExtractedObservation]: ...


class ExtractionError(RuntimeError):
    """An engine could not extract a text now (an endpoint that timed out, failed or kept answering
    nonsense past its retries): nothing is extracted from it, and it may be tried again later."""
