"""Series endpoints: timelines (with roll-up, bands, smoothing), per-topic timelines, compare, network."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.api.deps import SettingsDep
from app.api.formats import TABULAR_RESPONSES, ExportFormat, FormatParam, tabular_response
from app.api.lookups import require_actor_ids, require_topic
from app.api.params import SlugPath
from app.db import SessionDep
from app.errors import InvalidInput
from app.models import Topic
from app.schemas import (
    Comparison,
    ComparisonPair,
    Interval,
    NetworkEdge,
    NetworkNode,
    NetworkRead,
    Slug,
    Timeline,
    TimelinePoint,
    TimelineSeries,
    UTCDateTimeIn,
)
from app.store import actors as actor_store
from app.store import observations as observation_store
from app.store import timelines as timeline_store
from app.timelines import buckets, compare, levels, network, rollup

router = APIRouter(tags=["timelines"])

ActorsParam = Annotated[
    list[Slug], Query(description="Actor slug; repeat for several; none = every actor on the topic")
]
FromParam = Annotated[UTCDateTimeIn | None, Query(alias="from", description="observed_at >= this")]
ToParam = Annotated[UTCDateTimeIn | None, Query(alias="to", description="observed_at < this")]
RollupParam = Annotated[
    bool, Query(description="A bloc or state includes its members' observations, by membership dates")
]
TIDY_COLUMNS = ["topic", "actor", "bucket", "score", "low", "high", "count", "weight", "smoothed"]


class TimelineOptions(BaseModel):
    """How to build a timeline; shared by /timelines and /topics/{slug}/timeline."""

    # topic and actor arrive in the same query string on /timelines
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    interval: Interval = "week"
    observed_from: UTCDateTimeIn | None = Field(None, alias="from", description="observed_at >= this")
    observed_to: UTCDateTimeIn | None = Field(None, alias="to", description="observed_at < this")
    rollup: bool = Field(
        False, description="A bloc or state includes its members' observations, by membership dates"
    )
    smooth: Literal["ewm"] | None = Field(None, description="ewm: exponentially weighted smoothing")
    halflife: float = Field(2.0, gt=0, le=520, description="EWM half-life in buckets")
    format: ExportFormat = "json"


def _actor_ids(session: Session, topic: Topic, slugs: list[str]) -> dict[str, int]:
    """The requested actors (all on the topic, most observed first, when none), in order."""
    wanted = slugs or observation_store.actor_slugs_on_topic(session, topic_id=topic.id)
    return require_actor_ids(session, wanted)


def series_levels(
    session: Session,
    *,
    topic: Topic,
    actor_ids: dict[str, int],
    interval: Interval,
    observed_from: datetime | None,
    observed_to: datetime | None,
    with_rollup: bool,
    halflife: float | None,
    member_weight: float,
) -> pd.DataFrame:
    """Levels per actor and bucket: bucketed in SQL, or from attributed rows when rolling up.

    An empty `actor_ids` means every actor on the topic, most observed first (ranked from the
    same bucket sums, so the topic is scanned once).
    """
    if not actor_ids and not with_rollup:
        sums = timeline_store.bucket_sums(
            session,
            topic_id=topic.id,
            actor_ids=None,
            interval=interval,
            observed_from=observed_from,
            observed_to=observed_to,
        )
        totals = sums.groupby("series")["count"].sum()
        ranked = sorted(totals.index, key=lambda slug: (-int(totals[slug]), str(slug)))
        end = observed_to - pd.Timedelta(microseconds=1) if observed_to is not None else None
        return levels.levels(
            sums, interval, start=observed_from, end=end, smooth_halflife=halflife, series=ranked
        )
    if with_rollup:
        members = timeline_store.member_ids(session, actor_ids=list(actor_ids.values()))
        rows = timeline_store.observation_rows(
            session,
            topic_id=topic.id,
            actor_ids=members,
            observed_from=observed_from,
            observed_to=observed_to,
        )
        attributed = rollup.attribute(
            rows, timeline_store.memberships(session), list(actor_ids), member_weight=member_weight
        )
        sums = buckets.bucket_sums(attributed, interval)
    else:
        sums = timeline_store.bucket_sums(
            session,
            topic_id=topic.id,
            actor_ids=list(actor_ids.values()),
            interval=interval,
            observed_from=observed_from,
            observed_to=observed_to,
        )
    end = observed_to - pd.Timedelta(microseconds=1) if observed_to is not None else None
    return levels.levels(
        sums,
        interval,
        start=observed_from,
        end=end,
        smooth_halflife=halflife,
        series=list(actor_ids),
    )


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}


def _timeline(
    session: Session, topic_slug: SlugPath, actor: list[str], options: TimelineOptions, member_weight: float
) -> Any:
    topic = require_topic(session, topic_slug)
    # without actors and roll-up, the bucket query itself finds and ranks every actor on the topic
    ids = _actor_ids(session, topic, actor) if actor or options.rollup else {}
    smoothing = options.smooth == "ewm"
    frame = series_levels(
        session,
        topic=topic,
        actor_ids=ids,
        interval=options.interval,
        observed_from=options.observed_from,
        observed_to=options.observed_to,
        with_rollup=options.rollup,
        halflife=options.halflife if smoothing else None,
        member_weight=member_weight,
    )
    rows = [_rounded(r) for r in levels.records(frame)]
    if options.format != "json":
        tidy = [{"topic": topic_slug, "actor": r["series"], **r} for r in rows]
        columns = TIDY_COLUMNS if smoothing else TIDY_COLUMNS[:-1]
        return tabular_response(options.format, tidy, columns, f"timeline-{topic_slug}")
    order = list(ids) or list(dict.fromkeys(r["series"] for r in rows))
    names = actor_store.names_by_slug(session, slugs=order)
    by_actor: dict[str, list[TimelinePoint]] = {slug: [] for slug in order}
    for r in rows:
        by_actor[r["series"]].append(TimelinePoint.model_validate(r))
    return Timeline(
        topic=topic_slug,
        interval=options.interval,
        rollup=options.rollup,
        smooth=options.smooth,
        series=[TimelineSeries(actor=slug, name=names[slug], points=by_actor[slug]) for slug in order],
    )


@router.get("/timelines", response_model=Timeline, responses={**TABULAR_RESPONSES, 422: {}})
def get_timeline(
    session: SessionDep,
    settings: SettingsDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    options: Annotated[TimelineOptions, Query()],
    actor: ActorsParam = [],  # noqa: B006
) -> Any:
    """Per actor and bucket: confidence-weighted mean score, 90% band, count and weight.

    Every bucket between the first and last of the window is present; an empty one has count 0
    and a null score. Rejected observations are left out. Buckets: `day`, ISO `week` (Monday) or
    `month`, starting at the given UTC instant.
    """
    return _timeline(session, topic, actor, options, settings.rollup_member_weight)


@router.get("/topics/{slug}/timeline", response_model=Timeline, responses={**TABULAR_RESPONSES, 404: {}})
def get_topic_timeline(
    slug: SlugPath, session: SessionDep, settings: SettingsDep, options: Annotated[TimelineOptions, Query()]
) -> Any:
    """Every actor observed on the topic, most observed first."""
    return _timeline(session, slug, [], options, settings.rollup_member_weight)


@router.get("/compare", response_model=Comparison, responses={**TABULAR_RESPONSES, 422: {}})
def compare_actors(
    session: SessionDep,
    settings: SettingsDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    actor: Annotated[list[Slug], Query(description="Two or more actor slugs", min_length=2)],
    interval: Interval = "month",
    observed_from: FromParam = None,
    observed_to: ToParam = None,
    rollup: RollupParam = False,
    format: FormatParam = "json",
) -> Any:
    """Aligned series of several actors on shared buckets and their distance (|difference|) over time."""
    topic_row = require_topic(session, topic)
    ids = _actor_ids(session, topic_row, actor)
    if len(ids) < 2:
        raise InvalidInput("compare needs two different actors", field="actor")
    frame = series_levels(
        session,
        topic=topic_row,
        actor_ids=ids,
        interval=interval,
        observed_from=observed_from,
        observed_to=observed_to,
        with_rollup=rollup,
        halflife=None,
        member_weight=settings.rollup_member_weight,
    )
    result = compare.compare(frame, list(ids))
    distances = levels.records(result.distances)
    if format != "json":
        rows = [{"topic": topic, **row} for row in distances]
        return tabular_response(format, rows, ["topic", "bucket", "a", "b", "distance"], f"compare-{topic}")
    aligned = levels.records(result.aligned)
    return Comparison(
        topic=topic,
        interval=interval,
        actors=result.actors,
        mean_distance=result.mean_distance,
        pairs=[ComparisonPair.model_validate(p, from_attributes=True) for p in result.pairs],
        aligned=[{"bucket": row.pop("bucket"), "levels": row} for row in aligned],
        distances=distances,
    )


@router.get(
    "/network",
    response_model=NetworkRead,
    responses={200: {"content": {"application/graphml+xml": {}}}, 422: {}},
)
def get_network(
    session: SessionDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    observed_from: FromParam = None,
    observed_to: ToParam = None,
    threshold: Annotated[
        float, Query(ge=0, lt=1, description="|mean| above which an actor takes a side")
    ] = 0.15,
    format: Annotated[Literal["json", "graphml"], Query()] = "json",
) -> Any:
    """Actor-actor agreement (congruence): actors on the same side of the topic in the window."""
    topic_row = require_topic(session, topic)
    rows = timeline_store.observation_rows(
        session, topic_id=topic_row.id, actor_ids=None, observed_from=observed_from, observed_to=observed_to
    )
    result = network.congruence(rows, threshold=threshold)
    if format == "graphml":
        return Response(network.to_graphml(result), media_type="application/graphml+xml")
    return NetworkRead(
        topic=topic,
        threshold=threshold,
        nodes=[NetworkNode.model_validate(n, from_attributes=True) for n in result.nodes],
        edges=[NetworkEdge.model_validate(e, from_attributes=True) for e in result.edges],
    )
