"""The series read use case: what a read names (topic, actors, window) resolved or refused with a
422 naming the field, and the series built from the store: bucket levels (timelines, compare) and
the observation rows each roll-up series counts (shifts, the dashboard's evidence)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

import pandas as pd
from sqlalchemy.orm import Session

from app.errors import InvalidInput, LimitExceeded, UnknownReference
from app.models import Topic
from app.schemas import Interval
from app.store import actors as actor_store
from app.store import observations as observation_store
from app.store import timelines as timeline_store
from app.store import topics as topic_store
from app.timelines import levels, rollup

V = TypeVar("V")


def require_topic(session: Session, slug: str) -> Topic:
    topic = topic_store.get_topic(session, slug=slug)
    if topic is None:
        raise UnknownReference("topic", slug, field="topic")
    return topic


def require_actor_ids(session: Session, slugs: list[str]) -> dict[str, int]:
    """slug -> id for every requested actor, in the order asked (duplicates dropped)."""
    return _require_ids("actor", slugs, actor_store.ids_by_slug(session, slugs=slugs))


def require_topic_ids(session: Session, slugs: list[str]) -> dict[str, int]:
    """slug -> id for every requested topic, in the order asked (duplicates dropped)."""
    return _require_ids("topic", slugs, topic_store.ids_by_slug(session, slugs=slugs))


def require_subjects(
    session: Session, topic_slug: str, actor_slugs: list[str]
) -> tuple[Topic, dict[str, timeline_store.NamedActor]]:
    """The topic and every requested actor with its name, in the order asked (duplicates dropped),
    read in one query; an unknown topic, then the first unknown actor, is a 422 naming the field."""
    subjects = timeline_store.get_series_subjects(session, topic_slug=topic_slug, actor_slugs=actor_slugs)
    if subjects.topic is None:
        raise UnknownReference("topic", topic_slug, field="topic")
    return subjects.topic, _require_ids("actor", actor_slugs, subjects.actors)


def _require_ids(kind: str, slugs: list[str], found: Mapping[str, V]) -> dict[str, V]:
    """`found` for `slugs` in the order asked; the first slug not found is a 422 naming `kind`."""
    wanted = list(dict.fromkeys(slugs))
    for slug in wanted:
        if slug not in found:
            raise UnknownReference(kind, slug, field=kind)
    return {slug: found[slug] for slug in wanted}


def require_window(observed_from: datetime | None, observed_to: datetime | None) -> None:
    """A window [from, to) that holds an instant: `to` after `from` when both are given."""
    if observed_from is not None and observed_to is not None and observed_to <= observed_from:
        raise InvalidInput("'to' must be after 'from'", field="to")


def rollup_actor_ids(session: Session, topic: Topic) -> tuple[dict[str, int], frozenset[str]]:
    """Every actor observed on the topic (most observed first), then every bloc, state or other
    actor their observations can count for in a roll-up; returns the ids and those further slugs."""
    observed = require_actor_ids(session, observation_store.actor_slugs_on_topic(session, topic_id=topic.id))
    parents = timeline_store.ancestor_ids(session, actor_ids=set(observed.values())) - set(observed.values())
    further = {slug: actor_id for actor_id, slug in actor_store.slugs_by_id(session, ids=parents).items()}
    return {**observed, **dict(sorted(further.items()))}, frozenset(further)


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
    max_buckets: int | None = None,
    recent: bool = False,
    if_counted: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Levels per actor and bucket: bucketed in SQL, or from attributed rows when rolling up.

    An empty `actor_ids` means every actor on the topic, most observed first (ranked from the
    same bucket sums, so the topic is scanned once).

    `if_counted` (roll-up): actors listed only when their roll-up counts an observation in the
    window, after the others, most counted first.

    `recent`: without `observed_from`, the window starts at the first bucket observed within
    `levels.RECENT_BUCKETS` buckets (never more than `max_buckets`) of the latest one, so a stray
    old observation cannot widen the default view past the bucket limit. Only a window the
    request states (`observed_from`, or an `observed_to` far past the data) is refused as too wide.
    """
    if with_rollup:
        # memberships are dated by day, so the members' daily sums roll up exactly (see attribute_sums)
        members = timeline_store.member_ids(session, actor_ids=list(actor_ids.values()))
        daily = timeline_store.daily_sums(
            session,
            topic_id=topic.id,
            actor_ids=members,
            observed_from=observed_from,
            observed_to=observed_to,
        )
        sums = rollup.attribute_sums(
            daily, timeline_store.memberships(session), list(actor_ids), member_weight=member_weight
        )
    else:
        sums = timeline_store.bucket_sums(
            session,
            topic_id=topic.id,
            actor_ids=list(actor_ids.values()) if actor_ids else None,
            interval=interval,
            observed_from=observed_from,
            observed_to=observed_to,
        )
    if recent and observed_from is None:
        observed_from, sums = _recent(sums, interval, max_buckets)
    end = observed_to - pd.Timedelta(microseconds=1) if observed_to is not None else None
    _check_bucket_count(sums, interval, observed_from, end, max_buckets)
    series: list[str]
    if not actor_ids and not with_rollup:
        # every actor on the topic, ranked from the same sums, so the topic is scanned once
        totals = sums.groupby("series")["count"].sum()
        series = sorted(totals.index, key=lambda slug: (-int(totals[slug]), str(slug)))
    else:
        series = [slug for slug in actor_ids if slug not in if_counted]
    if if_counted:
        inside = sums if observed_from is None else sums[sums["bucket"] >= observed_from]
        if end is not None:
            inside = inside[inside["bucket"] <= end]
        counted = {str(k): int(v) for k, v in inside.groupby("series")["count"].sum().items()}
        series += sorted((s for s in if_counted if counted.get(s, 0) > 0), key=lambda s: (-counted[s], s))
    return levels.levels(
        sums,
        interval,
        start=observed_from,
        end=end,
        smooth_halflife=halflife,
        series=series,
    )


def _recent(
    sums: pd.DataFrame, interval: Interval, max_buckets: int | None
) -> tuple[datetime | None, pd.DataFrame]:
    """The default start of a window (None: the first bucket observed) and the sums from it on."""
    buckets = levels.RECENT_BUCKETS[interval]
    start = levels.recent_start(sums, interval, min(buckets, max_buckets or buckets))
    if start is None:
        return None, sums
    # a bucket start: day sums (roll-up) from it on are exactly the buckets from it on
    return start.to_pydatetime(), sums[sums["bucket"] >= start]


def _check_bucket_count(
    sums: pd.DataFrame, interval: Interval, start: datetime | None, end: datetime | None, limit: int | None
) -> None:
    """Refuse a window of more buckets than `limit`: every empty bucket in it would be listed."""
    if limit is None:
        return
    first = start if start is not None else (sums["bucket"].min() if len(sums) else None)
    last = end if end is not None else (sums["bucket"].max() if len(sums) else None)
    if first is None or last is None or first > last:
        return
    count = len(levels.bucket_grid(first, last, interval))
    if count > limit:
        raise LimitExceeded(
            f"the window holds {count} {interval} buckets, more than the limit of {limit}: "
            "narrow it with from/to or choose a longer interval",
            field="interval",
            limit=limit,
        )


def attributed_rows(
    session: Session,
    *,
    topic_id: int,
    actors: dict[str, int],
    member_weight: float,
    observed_from: datetime | None = None,
    observed_to: datetime | None = None,
    memberships: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The observation rows that count for each actor's roll-up series (its own and, by membership
    dates, its members'), `series` naming it and `confidence` as counted there. `memberships`:
    the stored ones, when the caller has read them already."""
    members = timeline_store.member_ids(session, actor_ids=list(actors.values()))
    rows = timeline_store.observation_rows(
        session, topic_id=topic_id, actor_ids=members, observed_from=observed_from, observed_to=observed_to
    )
    if memberships is None:
        memberships = timeline_store.memberships(session)
    return rollup.attribute(rows, memberships, list(actors), member_weight=member_weight)
