"""Request and response bodies of POST /v1/extract (dry-run extraction, `app.ingest.dry_run`)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.extraction.types import ExtractedObservation, RegistrySnapshot
from app.ingest.dry_run import DryRun, dry_run
from app.schemas import (
    MAX_TEXT_CHARS,
    ArticleBody,
    InputModel,
    Label,
    RegistryImport,
    Slug,
    SupportingEvidence,
    UTCDateTimeIn,
)

_READ = ConfigDict(from_attributes=True)


class ExtractRequest(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Mayor Ines Calloway said on Monday that she backs the bike-lane plan.",
                    "published_at": "2025-04-09",
                    "topic": "harbury-bike-lanes",
                    "registry": {
                        "topics": [
                            {
                                "slug": "harbury-bike-lanes",
                                "name": "Harbury bike-lane plan",
                                "keywords": ["bike lanes", "bike-lane plan"],
                            }
                        ]
                    },
                    "explain": True,
                }
            ]
        },
    )

    text: ArticleBody = Field(description=f"At most {MAX_TEXT_CHARS:,} characters, as for an article")
    published_at: UTCDateTimeIn = Field(
        description="The article's date (a date, or a datetime with a timezone): relative dates resolve against it"
    )
    title: Annotated[str, StringConstraints(max_length=2000)] | None = None
    language: Annotated[str, StringConstraints(min_length=2, max_length=16)] = "en"
    topic: Slug | None = Field(
        None, description="Only this topic's observations and explanation (a stored or a fragment topic)"
    )
    registry: RegistryImport | None = Field(
        None,
        description=(
            "Actors and topics in the format of POST /v1/registry, laid over the stored registry for this "
            "request only (a stored slug is replaced, a new one added); never stored"
        ),
    )
    explain: bool = Field(False, description="Add, per sentence, what each stage found and why")

    def run(self, stored: RegistrySnapshot, *, engine: str) -> DryRun:
        """The dry run this request asks for, over the `stored` registry."""
        return dry_run(
            stored,
            text=self.text,
            published_at=self.published_at,
            engine=engine,
            title=self.title,
            language=self.language,
            topic=self.topic,
            fragment=self.registry,
            explain=self.explain,
        )


class DryRunObservation(BaseModel):
    """An observation as it would be stored (without its ids and review status)."""

    actor: str
    topic: str
    label: Label
    score: float
    confidence: float
    observed_at: datetime
    evidence: str
    evidence_start: int
    evidence_end: int
    speaker: str | None
    shift: bool
    shift_from: float | None = None
    date_precision: str | None = Field(
        None, description="How observed_at was found: day, month, context, default"
    )
    basis: str | None = Field(None, description="How the stance was read: path, clause, focus")
    sentence: int | None = Field(None, description="Index of the evidence sentence (explanation.sentences)")
    supporting: list[SupportingEvidence] = Field(
        default_factory=list, description="Other sentences of the text that report the same claim"
    )

    @classmethod
    def of(cls, found: ExtractedObservation) -> DryRunObservation:
        extras = found.extras
        return cls(
            actor=found.actor,
            topic=found.topic,
            label=found.label,
            score=found.score,
            confidence=found.confidence,
            observed_at=datetime.combine(found.observed_at, time(), tzinfo=UTC),
            evidence=found.evidence,
            evidence_start=found.evidence_start,
            evidence_end=found.evidence_end,
            speaker=found.speaker,
            shift=found.shift,
            shift_from=extras.get("shift_from"),
            date_precision=extras.get("date_precision"),
            basis=extras.get("basis"),
            sentence=extras.get("sentence"),
            supporting=[SupportingEvidence.model_validate(s) for s in extras.get("supporting") or ()],
        )


class ExtractorInfo(BaseModel):
    engine: str
    version: str


class MentionExplained(BaseModel):
    model_config = _READ

    actor: str
    text: str = Field(description="The surface form in the sentence")
    via: Literal["alias", "office", "coreference"] = Field(
        description="alias: a registry alias; office: an alias several actors share, resolved by the date; "
        "coreference: a pronoun or role noun resolved to an actor named before"
    )
    start: int
    end: int


class TopicExplained(BaseModel):
    model_config = _READ

    topic: str
    relevance: float = Field(
        description="keyword 1.0, weak keyword 0.25, reference 0.5, similarity: cosine similarity, "
        "article focus: the topic's share of the article's keywords; none: 0"
    )
    keywords: list[str] = Field(description="The topic's keywords (or referring word) found in the sentence")
    via: str = Field(description="keyword, weak keyword, similarity, reference, article focus or none")
    threshold: float | None = Field(
        None, description="What `relevance` must reach to count (similarity, article focus); null: none"
    )
    counted: bool = Field(description="Whether extraction took the sentence to be about the topic")


class ClaimantExplained(BaseModel):
    model_config = _READ

    actor: str
    speaker: str | None
    verb: str


class CueExplained(BaseModel):
    model_config = _READ

    text: str
    sign: int = Field(description="+1 for, -1 against or flips, 0 neither (modality, neutral)")
    kind: str


class CandidateExplained(BaseModel):
    model_config = _READ

    actor: str
    topic: str
    kept: bool = Field(description="An observation of the answer")
    reason: str
    label: Label | None = None
    score: float | None = None
    confidence: float | None = None


class SentenceExplained(BaseModel):
    model_config = _READ

    index: int
    start: int
    end: int
    text: str
    mentions: list[MentionExplained]
    topics: list[TopicExplained]
    parsed: bool
    claimants: list[ClaimantExplained]
    cues: list[CueExplained]
    candidates: list[CandidateExplained]
    notes: list[str] = Field(description="What the sentence lacks or where extraction stopped, in words")


class Explanation(BaseModel):
    sentences: list[SentenceExplained]
    notes: list[str] = Field(description="What holds for the whole text (the topics it is about)")
    summary: str


class ExtractResponse(BaseModel):
    observations: list[DryRunObservation]
    extractor: ExtractorInfo
    explanation: Explanation | None = Field(None, description="With `explain` only")

    @classmethod
    def of(cls, run: DryRun) -> ExtractResponse:
        explanation = None
        if run.trace is not None:
            explanation = Explanation(
                sentences=[SentenceExplained.model_validate(s) for s in run.trace.view(run.topic)],
                notes=list(run.trace.notes),
                summary=run.trace.summary(len(run.observations), run.topic),
            )
        return cls(
            observations=[DryRunObservation.of(o) for o in run.observations],
            extractor=ExtractorInfo(engine=run.engine, version=run.version),
            explanation=explanation,
        )
