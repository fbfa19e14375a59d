"""ORM objects -> response schemas (ORM objects never leave the API layer)."""

from __future__ import annotations

from typing import Any

from app.models import Actor, Article, Observation, Topic
from app.schemas import (
    ActorRead,
    ArticleDetail,
    ArticleExtraction,
    ArticleRead,
    MembershipRead,
    ObservationRead,
    ReviewQueueItem,
    SupportingEvidence,
    TopicRead,
)


def actor_read(actor: Actor) -> ActorRead:
    return ActorRead(
        slug=actor.slug,
        name=actor.name,
        kind=actor.kind,
        description=actor.description,
        aliases=[a.alias for a in actor.aliases],
        memberships=[
            MembershipRead(parent=m.parent.slug, role=m.role, valid_from=m.valid_from, valid_to=m.valid_to)
            for m in actor.memberships
        ],
    )


def topic_read(topic: Topic) -> TopicRead:
    return TopicRead(
        slug=topic.slug,
        name=topic.name,
        description=topic.description,
        keywords=list(topic.keywords),
        examples=list(topic.examples),
        parent=topic.parent.slug if topic.parent else None,
        weak_keywords=list(topic.weak_keywords),
        excluded_phrases=list(topic.excluded_phrases),
        relevance_threshold=topic.relevance_threshold,
    )


def article_read(article: Article) -> ArticleRead:
    return ArticleRead(
        id=article.id,
        url=article.url,
        external_id=article.external_id,
        title=article.title,
        source=article.source.name if article.source else None,
        language=article.language,
        published_at=article.published_at,
        revision=article.revision,
        created_at=article.created_at,
        updated_at=article.updated_at,
        story_id=article.story_id,
    )


def article_detail(article: Article, observations: list[Observation]) -> ArticleDetail:
    return ArticleDetail(
        **article_read(article).model_dump(),
        text=article.text,
        extraction=ArticleExtraction(
            state=article.extraction_state or "done",
            attempts=article.extraction_attempts or 0,
            error=article.extraction_error,
            queued_at=article.extraction_queued_at,
            registry_revision=article.extracted_registry_revision,
            extractor_version=article.extractor_version,
        ),
        observations=[observation_read(o) for o in observations],
    )


def observation_read(observation: Observation) -> ObservationRead:
    return ObservationRead(
        id=observation.id,
        actor=observation.actor.slug,
        topic=observation.topic.slug,
        article_id=observation.article_id,
        article_revision=observation.article_revision,
        score=observation.score,
        label=observation.label,
        confidence=observation.confidence,
        observed_at=observation.observed_at,
        reported_at=observation.reported_at,
        evidence=observation.evidence,
        evidence_start=observation.evidence_start,
        evidence_end=observation.evidence_end,
        speaker=observation.speaker,
        shift=observation.shift,
        method=observation.method,
        extractor_version=observation.extractor_version,
        status=observation.status,
        note=observation.note,
        supporting=supporting_evidence(observation.extras),
        created_at=observation.created_at,
        updated_at=observation.updated_at,
    )


def review_queue_item(observation: Observation, uncertainty: float) -> ReviewQueueItem:
    return ReviewQueueItem(**dict(observation_read(observation)), uncertainty=round(uncertainty, 3))


def supporting_evidence(extras: dict[str, Any] | None) -> list[SupportingEvidence]:
    return [SupportingEvidence.model_validate(item) for item in (extras or {}).get("supporting") or []]
