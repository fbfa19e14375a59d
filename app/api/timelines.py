from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.formats import FormatParam, csv_response, ndjson_response
from app.db import SessionDep
from app.errors import UnknownReference
from app.schemas import Interval, Slug, Timeline, TimelinePoint, TimelineSeries, UTCDateTimeIn
from app.store import actors as actor_store
from app.store import observations as observation_store
from app.store import timelines as timeline_store
from app.store import topics as topic_store
from app.timelines.series import tidy_frame, to_series

router = APIRouter(prefix="/timelines", tags=["timelines"])


@router.get(
    "",
    response_model=Timeline,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}, 422: {}},
)
def get_timeline(
    session: SessionDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    actor: Annotated[
        list[Slug], Query(description="Actor slug; repeat for several; none = all on the topic")
    ] = [],  # noqa: B006
    interval: Interval = "week",
    observed_from: Annotated[UTCDateTimeIn | None, Query(alias="from")] = None,
    observed_to: Annotated[UTCDateTimeIn | None, Query(alias="to")] = None,
    format: FormatParam = "json",
) -> Any:
    """Per actor, buckets of the confidence-weighted mean score, the count and the bucket start (UTC).

    Rejected observations are left out. Buckets: `day`, ISO `week` (Monday) or `month`.
    """
    topic_row = topic_store.get_topic(session, slug=topic)
    if topic_row is None:
        raise UnknownReference("topic", topic, field="topic")
    slugs = list(dict.fromkeys(actor)) or observation_store.actor_slugs_on_topic(
        session, topic_id=topic_row.id
    )
    ids = actor_store.ids_by_slug(session, slugs=slugs)
    for slug in slugs:
        if slug not in ids:
            raise UnknownReference("actor", slug, field="actor")
    buckets = timeline_store.bucket_observations(
        session,
        topic_id=topic_row.id,
        actor_ids=list(ids.values()),
        interval=interval,
        observed_from=observed_from,
        observed_to=observed_to,
    )
    names = actor_store.names_by_slug(session, slugs=slugs)
    series = to_series(buckets, [(slug, names[slug]) for slug in slugs])
    if format == "csv":
        return csv_response(tidy_frame(series, topic), f"timeline-{topic}.csv")
    if format == "ndjson":
        return ndjson_response(tidy_frame(series, topic).to_dict("records"))
    return Timeline(
        topic=topic,
        interval=interval,
        series=[
            TimelineSeries(
                actor=s.actor,
                name=s.name,
                points=[
                    TimelinePoint(bucket=p.bucket, score=p.score, count=p.count, weight=p.weight)
                    for p in s.points
                ],
            )
            for s in series
        ],
    )
