"""Reads the dashboard needs beyond the /v1 API, under /web and behind the same keys.

* the observations behind one point of a timeline (the side panel), attributed as the timeline
  attributes them (`app.timelines.rollup`): a rolled-up point lists its members' observations too,
  each with the confidence it counts with there;
* the actors that can have a line on a topic: those observed on it and, for roll-ups, every bloc
  or state their observations count for;
* how many observations each topic has, so that the page opens on the busiest one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app import series
from app.api.convert import observation_read
from app.api.deps import SettingsDep
from app.api.params import SlugPath
from app.db import SessionDep
from app.errors import NotFound
from app.schemas import ObservationRead, Slug, UTCDateTimeIn
from app.series import require_window
from app.store import actors as actor_store
from app.store import observations as observation_store
from app.store import timelines as timeline_store
from app.store import topics as topic_store
from app.store.filters import ObservationFilter

router = APIRouter(prefix="/web", tags=["dashboard"])

# one bucket of one series; the cap only bites on a very busy month of a large bloc
MAX_ITEMS = 1000
_QUERY_CAP = 100_000
MAX_OBSERVED = 80  # most observed actors offered on a topic (their blocs come on top)


class CountedObservation(BaseModel):
    observation: ObservationRead
    weight: float = Field(
        description="The confidence it counts with in this series (a member's counts at a share)"
    )


class PointEvidence(BaseModel):
    topic: str
    actor: str
    rollup: bool
    total: int = Field(description="Observations that count for the point")
    items: list[CountedObservation] = Field(description="In observed_at order; the heaviest when capped")


class TopicCount(BaseModel):
    topic: str
    name: str
    observations: int = Field(description="Observations on the topic, rejected ones left out")


class TopicCounts(BaseModel):
    items: list[TopicCount] = Field(description="Most observed first, then by name")


class TopicActors(BaseModel):
    topic: str
    observed: list[str] = Field(description="Actors with observations on the topic, most observed first")
    rollup: list[str] = Field(description="Further actors those observations count for when rolled up")


@router.get("/topics", response_model=TopicCounts)
def list_topic_counts(session: SessionDep) -> TopicCounts:
    """Every topic with its number of observations, counted on the monthly aggregate (one small
    query per topic: registries hold tens of topics, not thousands)."""
    counts = []
    for topic in topic_store.list_all_topics(session):
        sums = timeline_store.bucket_sums(
            session, topic_id=topic.id, actor_ids=None, interval="month", observed_from=None, observed_to=None
        )
        counts.append(TopicCount(topic=topic.slug, name=topic.name, observations=int(sums["count"].sum())))
    counts.sort(key=lambda c: (-c.observations, c.name.casefold(), c.topic))
    return TopicCounts(items=counts)


@router.get("/topics/{slug}/actors", response_model=TopicActors, responses={404: {}})
def list_topic_actors(slug: SlugPath, session: SessionDep) -> TopicActors:
    """A NUL in the slug is a 422 naming `slug` on every engine; any other unknown slug a 404."""
    topic = topic_store.get_topic(session, slug=slug)
    if topic is None:
        raise NotFound("topic", slug)
    observed = observation_store.actor_slugs_on_topic(session, topic_id=topic.id)[:MAX_OBSERVED]
    ids = actor_store.ids_by_slug(session, slugs=observed)
    ancestors = timeline_store.ancestor_ids(session, actor_ids=set(ids.values()))
    slugs = actor_store.slugs_by_id(session, ids=ancestors)
    return TopicActors(topic=slug, observed=observed, rollup=sorted(set(slugs.values()) - set(observed)))


@router.get("/evidence", response_model=PointEvidence, responses={422: {}})
def list_point_evidence(
    session: SessionDep,
    settings: SettingsDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    actor: Annotated[Slug, Query(description="Actor slug")],
    observed_from: Annotated[
        UTCDateTimeIn, Query(alias="from", description="Bucket start: observed_at >= this")
    ],
    observed_to: Annotated[UTCDateTimeIn, Query(alias="to", description="Bucket end: observed_at < this")],
    rollup: Annotated[bool, Query(description="Count members' observations, as the timeline does")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = MAX_ITEMS,
) -> PointEvidence:
    """Rejected observations are left out, as they are from the timeline."""
    require_window(observed_from, observed_to)
    topic_row, named = series.require_subjects(session, topic, [actor])
    topic_id, actor_id = topic_row.id, named[actor].id
    rows = _counted_rows(
        session,
        topic_id=topic_id,
        actor=(actor, actor_id),
        window=(observed_from, observed_to),
        with_rollup=rollup,
        member_weight=settings.rollup_member_weight,
    )
    weights = {int(i): float(c) for i, c in zip(rows["id"], rows["confidence"], strict=True)}
    kept = set(sorted(weights, key=lambda i: (-weights[i], i))[:limit])
    found = []
    if kept:
        filters = ObservationFilter.model_validate(
            {
                "actor": sorted({str(a) for a in rows["actor"]}),
                "topic": [topic],
                "from": observed_from,
                "to": observed_to,
            }
        )
        # the filter also matches rejected and non-counting rows of these actors; the window keeps it small
        found = observation_store.list_observations(session, filters=filters, limit=_QUERY_CAP)
    return PointEvidence(
        topic=topic,
        actor=actor,
        rollup=rollup,
        total=len(weights),
        items=[
            CountedObservation(observation=observation_read(o), weight=round(weights[o.id], 6))
            for o in found
            if o.id in kept
        ],
    )


def _counted_rows(
    session: Session,
    *,
    topic_id: int,
    actor: tuple[str, int],
    window: tuple[datetime, datetime],
    with_rollup: bool,
    member_weight: float,
) -> pd.DataFrame:
    """Observation rows that count for the actor's series in the window, `confidence` as counted."""
    slug, actor_id = actor
    observed_from, observed_to = window
    if not with_rollup:
        return timeline_store.observation_rows(
            session,
            topic_id=topic_id,
            actor_ids=[actor_id],
            observed_from=observed_from,
            observed_to=observed_to,
        )
    attributed = series.attributed_rows(
        session,
        topic_id=topic_id,
        actors={slug: actor_id},
        member_weight=member_weight,
        observed_from=observed_from,
        observed_to=observed_to,
    )
    return attributed[attributed["series"] == slug]
