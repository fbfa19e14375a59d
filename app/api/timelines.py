"""Series endpoints: timelines (with roll-up, bands, smoothing), per-topic timelines, compare, network."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app import series
from app.api.deps import ReadScopeDep, SettingsDep
from app.api.formats import TABULAR_RESPONSES, ExportFormat, FormatParam, tabular_response
from app.api.params import SlugPath
from app.api.read_cache import CACHED_RESPONSES, cached_read, json_response
from app.db import InlineReaderDep
from app.errors import InvalidInput
from app.schemas import (
    Comparison,
    ComparisonPair,
    Interval,
    NetworkEdge,
    NetworkNode,
    NetworkRead,
    Slug,
    Timeline,
    UTCDateTimeIn,
)
from app.store import actors as actor_store
from app.store import timelines as timeline_store
from app.timelines import compare, levels, network

router = APIRouter(tags=["timelines"])

ActorsParam = Annotated[
    list[Slug],
    Query(
        description="Actor slug; repeat for several; none = every actor on the topic (with rollup, "
        "then the blocs and states they count for)"
    ),
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


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}


def _timeline(
    session: Session,
    topic_slug: str,
    actor: list[str],
    options: TimelineOptions,
    member_weight: float,
    max_buckets: int,
) -> Response:
    series.require_window(options.observed_from, options.observed_to)
    topic, named = series.require_subjects(session, topic_slug, actor)
    # without actors and roll-up, the bucket query itself finds and ranks every actor on the topic;
    # rolled up, the blocs and states the observed actors count for follow them
    further: frozenset[str] = frozenset()
    if actor:
        ids = {slug: a.id for slug, a in named.items()}
    elif options.rollup:
        ids, further = series.rollup_actor_ids(session, topic)
    else:
        ids = {}
    smoothing = options.smooth == "ewm"
    frame = series.series_levels(
        session,
        topic=topic,
        actor_ids=ids,
        interval=options.interval,
        observed_from=options.observed_from,
        observed_to=options.observed_to,
        with_rollup=options.rollup,
        halflife=options.halflife if smoothing else None,
        member_weight=member_weight,
        max_buckets=max_buckets,
        recent=True,
        if_counted=further,
    )
    if options.format != "json":
        rows = [_rounded(r) for r in levels.records(frame)]
        tidy = [{"topic": topic_slug, "actor": r["series"], **r} for r in rows]
        columns = TIDY_COLUMNS if smoothing else TIDY_COLUMNS[:-1]
        return tabular_response(options.format, tidy, columns, f"timeline-{topic_slug}")
    order = [s for s in ids if s not in further] + [
        str(name) for name in pd.unique(frame["series"]) if not ids or name in further
    ]
    names = {slug: a.name for slug, a in named.items()}
    # only series the request did not name (every actor, blocs rolled up into) need their names read
    if unnamed := [slug for slug in order if slug not in names]:
        names |= actor_store.names_by_slug(session, slugs=unnamed)
    points = _points_by_series(frame)
    window_from, window_to = _window(frame, options)
    document = {
        "topic": topic_slug,
        "interval": options.interval,
        "rollup": options.rollup,
        "smooth": options.smooth,
        "from": window_from,
        "to": window_to,
        "series": [{"actor": slug, "name": names[slug], "points": points.get(slug, [])} for slug in order],
    }
    # the `Timeline` document, serialised directly: validating thousands of points one by one
    # would cost more than computing them
    return Response(orjson.dumps(document), media_type="application/json")


def _window(frame: pd.DataFrame, options: TimelineOptions) -> tuple[str | None, str | None]:
    """The window a timeline covers, as ISO-8601 UTC: `from`/`to` as given, else the start of its
    first bucket and the end of its last (None for a timeline with no bucket and no bound)."""
    observed_from: datetime | pd.Timestamp | None = options.observed_from
    observed_to: datetime | pd.Timestamp | None = options.observed_to
    if len(frame):
        observed_from = observed_from or frame["bucket"].min()
        observed_to = observed_to or levels.bucket_end(frame["bucket"].max(), options.interval)
    return _iso(observed_from), _iso(observed_to)


def _iso(value: datetime | pd.Timestamp | None) -> str | None:
    if value is None:
        return None
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _points_by_series(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """`TimelinePoint` dicts per series from a levels frame (every series on the same grid, in
    series order): floats rounded to 6 places, NaN as null (orjson writes NaN as null), buckets
    as ISO-8601 UTC with a Z."""
    names = [str(name) for name in pd.unique(frame["series"])]
    if not names:
        return {}
    width = len(frame) // len(names)
    grid = frame["bucket"].iloc[:width].dt.tz_convert(None).to_numpy(dtype="datetime64[s]")
    buckets = [f"{b}Z" for b in np.datetime_as_string(grid, unit="s")] * len(names)
    rounded = {
        name: np.round(frame[name].to_numpy(dtype=float), 6).tolist()
        for name in ("score", "low", "high", "weight", "smoothed")
        if name in frame.columns
    }
    columns = zip(
        buckets,
        rounded["score"],
        rounded["low"],
        rounded["high"],
        frame["count"].to_numpy().tolist(),
        rounded["weight"],
        rounded.get("smoothed", [None] * len(frame)),
        strict=True,
    )
    points = [
        {"bucket": b, "score": s, "low": lo, "high": hi, "count": n, "weight": w, "smoothed": m}
        for b, s, lo, hi, n, w, m in columns
    ]
    return {name: points[i * width : (i + 1) * width] for i, name in enumerate(names)}


@router.get(
    "/timelines", response_model=Timeline, responses={**TABULAR_RESPONSES, **CACHED_RESPONSES, 422: {}}
)
async def get_timeline(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    settings: SettingsDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    options: Annotated[TimelineOptions, Query()],
    actor: ActorsParam = [],  # noqa: B006
) -> Response:
    """Per actor and bucket: confidence-weighted mean score, 90% band, count and weight.

    Every bucket between the first and last of the window is present; an empty one has count 0
    and a null score. Rejected observations are left out. Buckets: `day`, ISO `week` (Monday) or
    `month`, starting at the given UTC instant.

    Without `from`, the window ends with the latest bucket observed and reaches back at most
    3,650 days, 520 weeks or 240 months, to the first bucket observed in that reach; `from` and
    `to` in the answer name the window used. A window given with `from`/`to` of more buckets than
    the limit is a 422 naming `interval`; `to` not after `from` is a 422 naming `to`.

    The ETag changes whenever the data does: send it back in `If-None-Match` to get a 304 while it
    is current.
    """
    return await cached_read(
        request,
        reader,
        read_scope,
        lambda s: _timeline(
            s, topic, actor, options, settings.rollup_member_weight, settings.timeline_max_buckets
        ),
    )


@router.get(
    "/topics/{slug}/timeline",
    response_model=Timeline,
    responses={**TABULAR_RESPONSES, **CACHED_RESPONSES, 404: {}},
)
async def get_topic_timeline(
    request: Request,
    slug: SlugPath,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    settings: SettingsDep,
    options: Annotated[TimelineOptions, Query()],
) -> Response:
    """Every actor observed on the topic, most observed first; with `rollup`, then every bloc or
    state (or other actor) their observations count for, most counted first."""
    return await cached_read(
        request,
        reader,
        read_scope,
        lambda s: _timeline(
            s, slug, [], options, settings.rollup_member_weight, settings.timeline_max_buckets
        ),
    )


@router.get(
    "/compare", response_model=Comparison, responses={**TABULAR_RESPONSES, **CACHED_RESPONSES, 422: {}}
)
async def compare_actors(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    settings: SettingsDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    actor: Annotated[list[Slug], Query(description="Two or more actor slugs", min_length=2)],
    interval: Interval = "month",
    observed_from: FromParam = None,
    observed_to: ToParam = None,
    rollup: RollupParam = False,
    format: FormatParam = "json",
) -> Response:
    """Aligned series of several actors on shared buckets and their distance (|difference|) over time.

    The window defaults as the timelines' does (from the data, never from the time of asking), and
    the ETag changes whenever the data does, as theirs."""
    return await cached_read(
        request,
        reader,
        read_scope,
        lambda s: _comparison(
            s,
            topic,
            actor,
            interval=interval,
            observed_from=observed_from,
            observed_to=observed_to,
            rollup=rollup,
            format=format,
            member_weight=settings.rollup_member_weight,
            max_buckets=settings.timeline_max_buckets,
        ),
    )


def _comparison(
    session: Session,
    topic: str,
    actor: list[str],
    *,
    interval: Interval,
    observed_from: datetime | None,
    observed_to: datetime | None,
    rollup: bool,
    format: str,
    member_weight: float,
    max_buckets: int,
) -> Response:
    series.require_window(observed_from, observed_to)
    topic_row, named = series.require_subjects(session, topic, actor)
    ids = {slug: a.id for slug, a in named.items()}
    if len(ids) < 2:
        raise InvalidInput("compare needs two different actors", field="actor")
    frame = series.series_levels(
        session,
        topic=topic_row,
        actor_ids=ids,
        interval=interval,
        observed_from=observed_from,
        observed_to=observed_to,
        with_rollup=rollup,
        halflife=None,
        member_weight=member_weight,
        max_buckets=max_buckets,
        recent=True,
    )
    result = compare.compare(frame, list(ids))
    distances = levels.records(result.distances)
    if format != "json":
        rows = [{"topic": topic, **row} for row in distances]
        return tabular_response(format, rows, ["topic", "bucket", "a", "b", "distance"], f"compare-{topic}")
    aligned = levels.records(result.aligned)
    return json_response(
        Comparison(
            topic=topic,
            interval=interval,
            actors=result.actors,
            mean_distance=result.mean_distance,
            pairs=[ComparisonPair.model_validate(p, from_attributes=True) for p in result.pairs],
            aligned=[{"bucket": row.pop("bucket"), "levels": row} for row in aligned],
            distances=distances,
        )
    )


@router.get(
    "/network",
    response_model=NetworkRead,
    responses={200: {"content": {"application/graphml+xml": {}}}, **CACHED_RESPONSES, 422: {}},
)
async def get_network(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    topic: Annotated[Slug, Query(description="Topic slug")],
    observed_from: FromParam = None,
    observed_to: ToParam = None,
    threshold: Annotated[
        float, Query(ge=0, lt=1, description="|mean| above which an actor takes a side")
    ] = 0.15,
    format: Annotated[Literal["json", "graphml"], Query()] = "json",
) -> Response:
    """Actor-actor agreement (congruence): actors on the same side of the topic in the window.

    Computed from the observations themselves; the ETag changes whenever they do (a review
    included): send it back in `If-None-Match` to get a 304 while it is current."""
    return await cached_read(
        request,
        reader,
        read_scope,
        lambda s: _network(s, topic, observed_from, observed_to, threshold=threshold, format=format),
    )


def _network(
    session: Session,
    topic: str,
    observed_from: datetime | None,
    observed_to: datetime | None,
    *,
    threshold: float,
    format: str,
) -> Response:
    series.require_window(observed_from, observed_to)
    topic_row = series.require_topic(session, topic)
    rows = timeline_store.observation_rows(
        session, topic_id=topic_row.id, actor_ids=None, observed_from=observed_from, observed_to=observed_to
    )
    result = network.congruence(rows, threshold=threshold)
    if format == "graphml":
        return Response(network.to_graphml(result), media_type="application/graphml+xml")
    return json_response(
        NetworkRead(
            topic=topic,
            threshold=threshold,
            nodes=[NetworkNode.model_validate(n, from_attributes=True) for n in result.nodes],
            edges=[NetworkEdge.model_validate(e, from_attributes=True) for e in result.edges],
        )
    )
