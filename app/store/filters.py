"""Typed query filters that compile to SQL clauses; the API binds them with `Annotated[..., Query()]`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, select

from app.models import Actor, Observation, Topic
from app.schemas import Id, Method, Slug, Status, UTCDateTimeIn


class ObservationFilter(BaseModel):
    # other query parameters (limit, cursor, format) arrive in the same query string
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    actor: list[Slug] = Field(default_factory=list, description="Actor slug; repeat for several")
    topic: list[Slug] = Field(default_factory=list, description="Topic slug; repeat for several")
    article: Id | None = Field(None, description="Article id")
    observed_from: UTCDateTimeIn | None = Field(None, alias="from", description="observed_at >= this")
    observed_to: UTCDateTimeIn | None = Field(None, alias="to", description="observed_at < this")
    method: Method | None = None
    status: Status | None = None
    min_confidence: float | None = Field(None, ge=0, le=1)

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.actor:
            out.append(Observation.actor_id.in_(select(Actor.id).where(Actor.slug.in_(self.actor))))
        if self.topic:
            out.append(Observation.topic_id.in_(select(Topic.id).where(Topic.slug.in_(self.topic))))
        if self.article is not None:
            out.append(Observation.article_id == self.article)
        if self.observed_from is not None:
            out.append(Observation.observed_at >= self.observed_from)
        if self.observed_to is not None:
            out.append(Observation.observed_at < self.observed_to)
        if self.method is not None:
            out.append(Observation.method == self.method)
        if self.status is not None:
            out.append(Observation.status == self.status)
        if self.min_confidence is not None:
            out.append(Observation.confidence >= self.min_confidence)
        return out


class ReviewQueueFilter(BaseModel):
    """What narrows the review queue: the repeatable slugs `ObservationFilter` takes. The API
    resolves them to ids (a 422 for an unknown one) and `app.store.review_queue` filters on the
    ids, so that one topic is an equality the query planner can follow its index with."""

    model_config = ConfigDict(extra="ignore")  # limit and cursor arrive in the same query string

    actor: list[Slug] = Field(default_factory=list, description="Actor slug; repeat for several")
    topic: list[Slug] = Field(default_factory=list, description="Topic slug; repeat for several")


def window(observed_from: datetime | None, observed_to: datetime | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if observed_from is not None:
        out.append(Observation.observed_at >= observed_from)
    if observed_to is not None:
        out.append(Observation.observed_at < observed_to)
    return out
