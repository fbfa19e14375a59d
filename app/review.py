"""Manual coding and review of observations. Flush, never commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

import app.shifts.refresh  # noqa: F401 - registers shift detection for the series its writes touch
from app.errors import Conflict, InvalidInput, NotFound, UnknownReference
from app.extraction import label_for
from app.models import Observation, utcnow
from app.schemas import ObservationCreate, ObservationUpdate
from app.store import actors as actor_store
from app.store import articles as article_store
from app.store import observations as observation_store
from app.store import topics as topic_store


def label_for_score(score: float) -> str:
    """The label a score implies, by the same thresholds the extractor uses."""
    return label_for(score, mixed=False)


def _check_label(label: str, score: float, field: str) -> None:
    """A label must not contradict its score's sign (mixed and neutral may sit anywhere near the middle)."""
    if (label == "support" and score <= 0) or (label == "oppose" and score >= 0):
        raise InvalidInput(f"label {label!r} contradicts score {score}", field=field)


def add_manual_observation(session: Session, data: ObservationCreate) -> Observation:
    actor = actor_store.get_actor(session, slug=data.actor, with_children=False)
    if actor is None:
        raise UnknownReference("actor", data.actor, field="actor")
    topic = topic_store.get_topic(session, slug=data.topic)
    if topic is None:
        raise UnknownReference("topic", data.topic, field="topic")
    reported_at = None
    revision = None
    if data.article_id is not None:
        article = article_store.get_article(session, article_id=data.article_id)
        if article is None:
            raise UnknownReference("article", data.article_id, field="article_id")
        reported_at, revision = article.published_at, article.revision
    label = data.label or label_for_score(data.score)
    _check_label(label, data.score, "label")
    observation = Observation(
        actor_id=actor.id,
        topic_id=topic.id,
        article_id=data.article_id,
        article_revision=revision,
        score=data.score,
        label=label,
        confidence=data.confidence,
        observed_at=data.observed_at,
        reported_at=reported_at,
        evidence=data.evidence,
        speaker=data.speaker,
        shift=data.shift,
        extras={"shift_from": data.shift_from} if data.shift and data.shift_from is not None else None,
        method="manual",
        extractor_version=None,
        status="verified",
        note=data.note,
    )
    session.add(observation)
    session.flush()
    observation_store.recount(session, observation, sign=1)
    return _reload(session, observation.id)


def review_observation(session: Session, observation_id: int, data: ObservationUpdate) -> Observation:
    """Apply a review. Concurrent reviews of one observation queue on its row lock; the last one
    wins, unless it names the version it read (`expected_updated_at`) and that version is gone."""
    observation = observation_store.get_observation(session, observation_id=observation_id, for_update=True)
    if observation is None:
        raise NotFound("observation", observation_id)
    if data.expected_updated_at is not None and data.expected_updated_at != observation.updated_at:
        raise Conflict(
            f"observation {observation_id} changed at {observation.updated_at.isoformat()} after the "
            "version this review was based on; reload it and review again",
            field="expected_updated_at",
            code="stale_version",
        )
    if observation.status == "suggested" and data.status == "auto":
        # a suggestion counts once a reviewer verifies or corrects it, never by being left as it is
        raise InvalidInput(
            "a suggested observation is verified, corrected or rejected, not set to auto", field="status"
        )
    # a rejection takes the observation out of the aggregate, un-rejecting puts it back, and so
    # does verifying or correcting a suggestion (statuses in UNCOUNTED_STATUSES count in nothing)
    observation_store.recount(session, observation, sign=-1)
    corrected = data.score is not None or data.label is not None
    if data.score is not None:
        observation.score = data.score
        if data.label is None:
            observation.label = label_for_score(data.score)
    if data.label is not None:
        observation.label = data.label
    if corrected:
        _check_label(observation.label, observation.score, "label" if data.label else "score")
    if data.note is not None:
        observation.note = data.note
    if data.status is not None:
        observation.status = data.status
    elif corrected:
        observation.status = "corrected"
    observation.updated_at = utcnow()  # every review is a new version, even one that changes nothing
    session.flush()
    observation_store.recount(session, observation, sign=1)
    return observation


def _reload(session: Session, observation_id: int) -> Observation:
    observation = observation_store.get_observation(session, observation_id=observation_id)
    assert observation is not None
    return observation
