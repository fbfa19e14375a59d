"""Timeline inputs from SQL: what a series read names, bucket sums per (actor, bucket), observation
rows, memberships.

Frames follow the contracts documented in `app.timelines`. Sums come from the aggregates, not
the observations: weekly and monthly sums from `observation_period` for every whole week or month
of the window, `observation_daily` for the whole UTC days around them, and the observations only
for the partial days at its edges (a `from` or `to` that is not midnight UTC). A timeline reads
one row per actor and bucket however many observations there are (see `_plan`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.expression import Select, Selectable

from app.models import (
    PERIODS,
    UNCOUNTED_STATUSES,
    Actor,
    ActorMembership,
    Article,
    Observation,
    ObservationDaily,
    ObservationPeriod,
    Topic,
)
from app.store.filters import window
from app.store.periods import bucket_start_of, utc_day_of
from app.timelines.periods import bucket_start, next_bucket_start

SUM_COLUMNS = ["series", "bucket", "count", "weight", "weighted_sum", "weight_sq", "weighted_sq_sum"]
ROW_COLUMNS = [
    "id",
    "actor",
    "observed_at",
    "score",
    "confidence",
    "shift",
    "evidence",
    "article_id",
    "article_url",
]
MEMBERSHIP_COLUMNS = ["actor", "parent", "valid_from", "valid_to"]


@dataclass(frozen=True)
class NamedActor:
    id: int
    name: str


@dataclass(frozen=True)
class SeriesSubjects:
    """The topic a series read names (None when unknown) and, by slug, the actors it names that
    are stored (none when the topic is unknown)."""

    topic: Topic | None
    actors: dict[str, NamedActor]


def get_series_subjects(session: Session, *, topic_slug: str, actor_slugs: Iterable[str]) -> SeriesSubjects:
    """The topic and actors a series read names, with the actors' display names, in one query.
    The topic comes without its parent."""
    # each actor found rides on the topic's row (one row, actor columns null, when none is found);
    # an empty IN is false on every engine, which leaves the topic alone
    stmt = (
        select(Topic, Actor.slug, Actor.id, Actor.name)
        .outerjoin(Actor, Actor.slug.in_(sorted(set(actor_slugs))))
        .where(Topic.slug == topic_slug)
    )
    rows = session.execute(stmt).all()
    if not rows:
        return SeriesSubjects(None, {})
    actors = {slug: NamedActor(actor_id, name) for _, slug, actor_id, name in rows if slug is not None}
    return SeriesSubjects(rows[0][0], actors)


def epoch_day(dialect: str, day: Any) -> ColumnElement[int]:
    """Days since 1970-01-01 of a date column (the integer travels faster than a date)."""
    if dialect == "sqlite":  # julianday of a midnight is N.5, and 1970-01-01 is 2440587.5
        return cast(func.julianday(day), Integer) - 2440587
    return cast(day - literal_column("DATE '1970-01-01'"), Integer)


def _read(session: Session, stmt: Selectable, columns: list[str]) -> pd.DataFrame:
    frame = pd.read_sql(stmt, session.connection())
    if frame.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
    return frame[columns]


def _read_sums(session: Session, stmt: Select[*tuple[Any, ...]], params: dict[str, Any]) -> pd.DataFrame:
    """The bucket-sums frame of a statement selecting its columns in `SUM_COLUMNS` order, with
    buckets as `epoch_day`s (built from the rows directly: pd.read_sql costs more than the query)."""
    # the driver's plain tuples: every column is an int, a float or a str, nothing to convert
    rows = session.connection().execute(stmt, params).cursor.fetchall()
    table = np.array(rows, dtype=object).reshape(len(rows), len(SUM_COLUMNS))
    days = table[:, 1].astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "series": pd.Series(table[:, 0], dtype=object),
            "bucket": pd.DatetimeIndex(days).tz_localize(UTC),
            "count": table[:, 2].astype(np.int64),
            **{name: table[:, i + 3].astype(float) for i, name in enumerate(SUM_COLUMNS[3:])},
        }
    )


def bucket_sums(
    session: Session,
    *,
    topic_id: int,
    actor_ids: list[int] | None,
    interval: str,
    observed_from: datetime | None,
    observed_to: datetime | None,
) -> pd.DataFrame:
    """One row per (actor, bucket) with the sums a weighted mean and its standard error need.

    Every actor on the topic when `actor_ids` is None. Rejected observations are excluded.
    Columns: series (actor slug), bucket (UTC), count, weight, weighted_sum, weight_sq, weighted_sq_sum.
    """
    period = interval if interval in PERIODS else None
    parts, params = _plan(observed_from, observed_to, period)
    stmt = _sums_statement(session.get_bind().dialect.name, interval, actor_ids is not None, parts)
    return _read_sums(session, stmt, {**params, "topic_id": topic_id, "actor_ids": actor_ids or []})


def daily_sums(
    session: Session,
    *,
    topic_id: int,
    actor_ids: list[int] | None,
    observed_from: datetime | None,
    observed_to: datetime | None,
) -> pd.DataFrame:
    """Per actor and UTC day, the bucket-sums contract with `actor` for `series` and `observed_at`
    (the day's midnight) for `bucket`, plus a row `id`: the input of `rollup.attribute_sums`."""
    parts, params = _plan(observed_from, observed_to, None)
    stmt = _sums_statement(session.get_bind().dialect.name, None, actor_ids is not None, parts)
    frame = _read_sums(session, stmt, {**params, "topic_id": topic_id, "actor_ids": actor_ids or []})
    return frame.rename(columns={"series": "actor", "bucket": "observed_at"}).assign(id=range(len(frame)))


def _midnight_on_or_after(instant: datetime) -> datetime:
    midnight = datetime.combine(instant.astimezone(UTC).date(), time(), tzinfo=UTC)
    return midnight if midnight == instant else midnight + timedelta(days=1)


def _midnight_on_or_before(instant: datetime) -> datetime:
    return datetime.combine(instant.astimezone(UTC).date(), time(), tzinfo=UTC)


def _first_whole_period(day: date, period: str) -> date:
    """The first bucket of `period` starting on or after `day`."""
    return day if bucket_start(day, period) == day else next_bucket_start(day, period)


# One part of a window: where its sums come from ("periods": observation_period rows of the
# interval, "days": observation_daily rows, "observations": single observations) and whether it
# has a lower and an upper bound (bound parameters lo_<i>, hi_<i>).
Part = tuple[str, bool, bool]


def _plan(
    observed_from: datetime | None, observed_to: datetime | None, period: str | None
) -> tuple[tuple[Part, ...], dict[str, Any]]:
    """Split [from, to) into the parts that add up to its sums, coarsest first: whole weeks or
    months from `observation_period` (when `period` is given), whole UTC days around them from
    `observation_daily`, and the partial days at the edges (a bound that is not midnight UTC)
    from the observations. Returns the parts and their bound parameters."""
    parts: list[Part] = []
    params: dict[str, Any] = {}

    def add(source: str, lo: Any, hi: Any) -> None:
        i = len(parts)
        parts.append((source, lo is not None, hi is not None))
        params.update({f"lo_{i}": lo} if lo is not None else {})
        params.update({f"hi_{i}": hi} if hi is not None else {})

    first = _midnight_on_or_after(observed_from) if observed_from is not None else None
    end = _midnight_on_or_before(observed_to) if observed_to is not None else None
    if first is not None and end is not None and end <= first:  # no whole day: observations only
        add("observations", observed_from, observed_to)
        return tuple(parts), params
    if observed_from is not None and first is not None and observed_from < first:
        add("observations", observed_from, first)
    if observed_to is not None and end is not None and end < observed_to:
        add("observations", end, observed_to)
    first_day = first.date() if first is not None else None
    end_day = end.date() if end is not None else None
    if period is None:
        add("days", first_day, end_day)
        return tuple(parts), params
    whole_first = _first_whole_period(first_day, period) if first_day is not None else None
    whole_end = bucket_start(end_day, period) if end_day is not None else None
    if whole_first is not None and whole_end is not None and whole_end <= whole_first:
        add("days", first_day, end_day)  # no whole week or month: days only
        return tuple(parts), params
    add("periods", whole_first, whole_end)
    if first_day is not None and whole_first is not None and first_day < whole_first:
        add("days", first_day, whole_first)
    if end_day is not None and whole_end is not None and whole_end < end_day:
        add("days", whole_end, end_day)
    return tuple(parts), params


@lru_cache(maxsize=256)
def _sums_statement(
    dialect: str, interval: str | None, by_actor: bool, parts: tuple[Part, ...]
) -> Select[*tuple[Any, ...]]:
    """Sums per actor slug and bucket (`interval`, or the day itself when None) of one topic over
    the parts of `_plan`, with bound parameters (topic_id, actor_ids, lo_<i>, hi_<i>): built once
    per shape, so a request pays for executing it and not for composing it."""
    selects = [_part(dialect, interval, by_actor, i, part) for i, part in enumerate(parts)]
    rows = (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("parts")
    # grouped by actor id first: the slugs join the few result rows, not every day
    grouped = (
        select(rows.c.actor_id, rows.c.bucket, *(func.sum(rows.c[n]).label(n) for n in SUM_COLUMNS[2:]))
        .group_by(rows.c.actor_id, rows.c.bucket)
        .subquery("sums")
    )
    return (
        select(
            Actor.slug.label("series"),
            epoch_day(dialect, grouped.c.bucket).label("bucket"),
            *(grouped.c[n] for n in SUM_COLUMNS[2:]),
        )
        .join(Actor, Actor.id == grouped.c.actor_id)
        .order_by(Actor.slug, grouped.c.bucket)
    )


def _part(dialect: str, interval: str | None, by_actor: bool, i: int, part: Part) -> Select[*tuple[Any, ...]]:
    """One part's rows as (actor_id, bucket, count, weight, weighted_sum, weight_sq, weighted_sq_sum),
    the bucket being the first day of the row's interval (its day when `interval` is None)."""

    def bucket(day: Any) -> Any:
        return (day if interval is None else bucket_start_of(dialect, interval, day)).label("bucket")

    source, has_lo, has_hi = part
    moment: InstrumentedAttribute[Any]
    if source == "observations":
        c, s = Observation.confidence, Observation.score
        stmt = select(
            Observation.actor_id,
            bucket(utc_day_of(dialect, Observation.observed_at)),
            literal(1).label("count"),
            c.label("weight"),
            (c * s).label("weighted_sum"),
            (c * c).label("weight_sq"),
            (c * s * s).label("weighted_sq_sum"),
        ).where(Observation.topic_id == bindparam("topic_id"), Observation.status.not_in(UNCOUNTED_STATUSES))
        actor, moment = Observation.actor_id, Observation.observed_at
    elif source == "periods":
        table = ObservationPeriod
        stmt = select(
            table.actor_id, table.start.label("bucket"), *(getattr(table, n) for n in SUM_COLUMNS[2:])
        ).where(table.topic_id == bindparam("topic_id"), table.period == interval)
        actor, moment = table.actor_id, table.start
    else:
        stmt = select(
            ObservationDaily.actor_id,
            bucket(ObservationDaily.day),
            *(getattr(ObservationDaily, n) for n in SUM_COLUMNS[2:]),
        ).where(ObservationDaily.topic_id == bindparam("topic_id"))
        actor, moment = ObservationDaily.actor_id, ObservationDaily.day
    if by_actor:
        stmt = stmt.where(actor.in_(bindparam("actor_ids", expanding=True)))
    if has_lo:
        stmt = stmt.where(moment >= bindparam(f"lo_{i}"))
    if has_hi:
        stmt = stmt.where(moment < bindparam(f"hi_{i}"))
    return stmt


def observation_rows(
    session: Session,
    *,
    topic_id: int,
    actor_ids: list[int] | None,
    observed_from: datetime | None = None,
    observed_to: datetime | None = None,
) -> pd.DataFrame:
    """Observation rows of a topic (all actors when `actor_ids` is None), uncounted ones (rejected,
    suggested) excluded."""
    stmt = (
        select(
            Observation.id,
            Actor.slug.label("actor"),
            Observation.observed_at,
            Observation.score,
            Observation.confidence,
            Observation.shift,
            Observation.evidence,
            Observation.article_id,
            Article.url.label("article_url"),
            Observation.extras,
            ((Observation.method != "manual") & (Observation.status == "auto")).label("automatic"),
        )
        .join(Actor, Actor.id == Observation.actor_id)
        .outerjoin(Article, Article.id == Observation.article_id)
        .where(
            Observation.topic_id == topic_id,
            Observation.status.not_in(UNCOUNTED_STATUSES),
            *window(observed_from, observed_to),
        )
        .order_by(Observation.observed_at, Observation.id)
    )
    if actor_ids is not None:
        stmt = stmt.where(Observation.actor_id.in_(actor_ids))
    frame = _read(session, stmt, [*ROW_COLUMNS, "extras", "automatic"])
    frame["shift_from"] = [_shift_from(extras) for extras in frame.pop("extras")]
    frame["automatic"] = frame["automatic"].fillna(False).astype(bool)
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True, format="mixed")
    frame["shift"] = frame["shift"].astype(bool)
    frame["score"] = frame["score"].astype(float)
    frame["confidence"] = frame["confidence"].astype(float)
    return frame


def _shift_from(extras: Any) -> float:
    """The earlier score a cue's sentence states, NaN when it states none."""
    value = extras.get("shift_from") if isinstance(extras, dict) else None
    return float(value) if isinstance(value, int | float) else float("nan")


def memberships(session: Session) -> pd.DataFrame:
    """Every membership edge: actor, parent (slugs), valid_from, valid_to (UTC, NaT when open),
    parent_kind (the parent's actor kind: groups speak in part for blocs, see `rollup`).

    The registry's `to` date is inclusive (the UK was in the EU on 2020-01-31); the frame's
    `valid_to` is the exclusive instant after it (midnight starting the next day).
    """
    parent = aliased(Actor)
    stmt = (
        select(
            Actor.slug.label("actor"),
            parent.slug.label("parent"),
            ActorMembership.valid_from,
            ActorMembership.valid_to,
            parent.kind.label("parent_kind"),
        )
        .join(Actor, Actor.id == ActorMembership.actor_id)
        .join(parent, parent.id == ActorMembership.parent_id)
    )
    frame = _read(session, stmt, [*MEMBERSHIP_COLUMNS, "parent_kind"])
    for column in ("valid_from", "valid_to"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["valid_to"] = frame["valid_to"] + pd.Timedelta(days=1)
    return frame


def member_ids(session: Session, *, actor_ids: list[int]) -> list[int]:
    """The actors themselves, everyone who was ever, directly or transitively, their member, and
    the groups any of those ever belonged to (a group speaks in part for its members' blocs)."""
    found = set(actor_ids)
    frontier = set(actor_ids)
    while frontier:
        rows = session.scalars(
            select(ActorMembership.actor_id).where(ActorMembership.parent_id.in_(frontier))
        )
        frontier = set(rows) - found
        found |= frontier
    return sorted(found | _groups_of(session, found))


def ancestor_ids(session: Session, *, actor_ids: set[int]) -> set[int]:
    """Every actor whose roll-up the given actors' observations can reach: what they ever belonged
    to, transitively, and, for groups, what their members belonged to."""
    found: set[int] = set()
    frontier = set(actor_ids)
    group_ids = {
        i for i in actor_ids if (actor := session.get(Actor, i)) is not None and actor.kind == "group"
    }
    if group_ids:
        frontier |= set(
            session.scalars(select(ActorMembership.actor_id).where(ActorMembership.parent_id.in_(group_ids)))
        )
    while frontier:
        rows = session.scalars(
            select(ActorMembership.parent_id).where(ActorMembership.actor_id.in_(frontier))
        )
        frontier = set(rows) - found - actor_ids
        found |= frontier
    return found


def _groups_of(session: Session, actor_ids: set[int]) -> set[int]:
    stmt = (
        select(ActorMembership.parent_id)
        .join(Actor, Actor.id == ActorMembership.parent_id)
        .where(ActorMembership.actor_id.in_(actor_ids), Actor.kind == "group")
    )
    return set(session.scalars(stmt))
