from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, insert, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.models import UNREVIEWED_STATUSES, Actor, Observation, ObservationDaily, Topic, UTCDateTime
from app.store import aggregates, unit_of_work
from app.store.filters import ObservationFilter
from app.store.keyset import after_key

# from this many rows on, inserts skip SQLAlchemy's per-row parameter handling (and use COPY on PostgreSQL)
BULK_ROWS = 100
OBSERVATION: Table = Observation.__table__  # type: ignore[assignment]  # declarative tables are Tables


def _with_slugs() -> tuple[Any, ...]:
    return (joinedload(Observation.actor), joinedload(Observation.topic))


def get_observation(session: Session, *, observation_id: int, for_update: bool = False) -> Observation | None:
    """One observation; `for_update` locks its row until the transaction ends (PostgreSQL; SQLite
    writers are serialised anyway)."""
    stmt = select(Observation).options(*_with_slugs()).where(Observation.id == observation_id)
    if for_update:
        stmt = stmt.with_for_update(of=Observation)
    return session.scalars(stmt).one_or_none()


def list_observations(
    session: Session, *, filters: ObservationFilter, after: tuple[datetime, int] | None = None, limit: int
) -> list[Observation]:
    stmt = (
        select(Observation)
        .options(*_with_slugs())
        .where(*filters.clauses())
        .order_by(Observation.observed_at, Observation.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(after_key(Observation.observed_at, Observation.id, after))
    return list(session.scalars(stmt))


def list_article_observations(session: Session, *, article_id: int) -> list[Observation]:
    stmt = (
        select(Observation)
        .options(*_with_slugs())
        .where(Observation.article_id == article_id)
        .order_by(Observation.evidence_start, Observation.id)
    )
    return list(session.scalars(stmt))


def count_article_observations(session: Session, *, article_id: int) -> int:
    stmt = select(func.count()).select_from(Observation).where(Observation.article_id == article_id)
    return int(session.scalar(stmt) or 0)


def count_observations_of(session: Session, *, article_ids: Sequence[int]) -> int:
    """Observations stored for any of the listed articles."""
    if not article_ids:
        return 0
    stmt = select(func.count()).select_from(Observation).where(Observation.article_id.in_(list(article_ids)))
    return int(session.scalar(stmt) or 0)


def has_automatic(session: Session, *, article_id: int) -> bool:
    """Whether the article has an automatic observation (reviewed or not)."""
    stmt = (
        select(Observation.id)
        .where(Observation.article_id == article_id, Observation.method != "manual")
        .limit(1)
    )
    return session.scalar(stmt) is not None


def add_observations(session: Session, *, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert with no per-row ORM round trips: one executemany, or, from `BULK_ROWS` rows on,
    the driver's executemany of ready-made tuples (SQLite) or COPY (PostgreSQL). The rows' aggregate
    deltas are recorded for the commit (`unit_of_work`)."""
    if rows:  # new rows are listed (/v1/stances) even where their deltas cancel out in the aggregates
        unit_of_work.mark_changed(session)
    unit_of_work.touch(session, {(row["topic_id"], row["actor_id"]) for row in rows})
    if len(rows) >= BULK_ROWS:
        unit_of_work.record(session, _insert_in_bulk(session, rows))
        return
    if rows:
        # Core, not the ORM bulk path: one multi-row INSERT (insertmanyvalues) however the rows differ
        session.connection().execute(insert(OBSERVATION), list(rows))
        unit_of_work.record(session, aggregates.deltas_of(rows))


def _insert_in_bulk(session: Session, rows: Sequence[dict[str, Any]]) -> aggregates.Deltas:
    """Column by column: defaults filled once, each distinct datetime converted once, and the
    aggregate deltas summed from the same columns."""
    connection = session.connection()
    dialect = connection.dialect
    table = Observation.__table__
    names = [c.name for c in table.columns if c.name in rows[0] or c.default is not None]
    columns: list[list[Any]] = []
    given: dict[str, list[Any]] = {}
    for name in names:
        column = table.c[name]
        default = column.default
        fill = None if default is None else default.arg(None) if default.is_callable else default.arg
        values = [row.get(name, fill) for row in rows]
        given[name] = values
        # the dialect's own conversion (SQLite's DATETIME text, JSON text), as the ORM path does it
        convert = column.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None and isinstance(column.type, UTCDateTime):
            seen: dict[Any, Any] = {}
            values = [
                None if v is None else seen[v] if v in seen else seen.setdefault(v, convert(v))
                for v in values
            ]
        elif convert is not None:
            values = [None if v is None else convert(v) for v in values]
        columns.append(values)
    deltas = aggregates.deltas_of_columns(
        *(given[name] for name in ("status", "topic_id", "actor_id", "observed_at", "score", "confidence"))
    )
    tuples = list(zip(*columns, strict=True))
    listed = ", ".join(names)
    if dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY observation ({listed}) FROM STDIN") as copy:
            for row_values in tuples:
                copy.write_row(row_values)
        return deltas
    marks = ", ".join("?" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO observation ({listed}) VALUES ({marks})", tuples)
    return deltas


_REMOVED = (
    Observation.topic_id,
    Observation.actor_id,
    Observation.observed_at,
    Observation.score,
    Observation.confidence,
    Observation.status,
)


def _delete(session: Session, *where: ColumnElement[bool]) -> int:
    """Delete matching observations (their aggregate deltas recorded); returns how many went."""
    removed = session.execute(
        delete(Observation).where(*where).returning(*_REMOVED).execution_options(synchronize_session=False)
    ).mappings()
    rows = list(removed)
    if rows:  # uncounted rows leave the aggregates alone, but not the lists that show them
        unit_of_work.mark_changed(session)
        unit_of_work.record(session, aggregates.deltas_of(rows, sign=-1))
        unit_of_work.touch(session, {(row["topic_id"], row["actor_id"]) for row in rows})
    return len(rows)


def recount(session: Session, observation: Observation, *, sign: int) -> None:
    """Count an observation changed through the ORM out (-1, before the change) or in (+1, after):
    a review, a review carried to an article's revision. Uncounted statuses count nothing; the
    series is touched all the same (a rejection changes what its shifts may cite)."""
    fields = ("topic_id", "actor_id", "observed_at", "score", "confidence", "status")
    unit_of_work.record(
        session, aggregates.deltas_of([{f: getattr(observation, f) for f in fields}], sign=sign)
    )
    unit_of_work.touch(session, {(observation.topic_id, observation.actor_id)})


def delete_unreviewed_automatic(session: Session, *, article_id: int) -> int:
    """Drop automatic observations nobody has reviewed (suggestions too); manual and reviewed ones
    stay."""
    return _delete(
        session,
        Observation.article_id == article_id,
        Observation.method != "manual",
        Observation.status.in_(UNREVIEWED_STATUSES),
    )


def delete_observations(session: Session, *, ids: Sequence[int]) -> int:
    """Drop the observations with these ids; returns how many went."""
    if not ids:
        return 0
    return _delete(session, Observation.id.in_(ids))


def list_reviewed_automatic(session: Session, *, article_id: int) -> list[Observation]:
    """An article's automatic observations a person has reviewed (verified, corrected, rejected)."""
    stmt = (
        select(Observation)
        .where(
            Observation.article_id == article_id,
            Observation.method != "manual",
            Observation.status.not_in(UNREVIEWED_STATUSES),
        )
        .order_by(Observation.id)
    )
    return list(session.scalars(stmt))


def delete_article_observations(session: Session, *, article_id: int) -> int:
    """Drop every observation coded from an article, manual ones too."""
    return _delete(session, Observation.article_id == article_id)


def kept_keys(session: Session, *, article_id: int, revision: int | None = None) -> set[tuple[int, int, str]]:
    """(actor_id, topic_id, observed day) of an article's manual or reviewed observations.

    With `revision`, a reviewed automatic observation left on an earlier revision (a rejection
    whose sentence a revision removed) does not count: its sentence is gone, so it hides nothing.
    """
    stmt = select(Observation.actor_id, Observation.topic_id, Observation.observed_at).where(
        Observation.article_id == article_id,
        (Observation.method == "manual") | Observation.status.not_in(UNREVIEWED_STATUSES),
    )
    if revision is not None:
        stmt = stmt.where(
            (Observation.method == "manual")
            | (Observation.article_revision.is_(None))
            | (Observation.article_revision == revision)
        )
    rows = session.execute(stmt)
    return {(actor_id, topic_id, observed_at.date().isoformat()) for actor_id, topic_id, observed_at in rows}


def actor_slugs_on_topic(session: Session, *, topic_id: int) -> list[str]:
    """Actors with observations on a topic, most observed first (counted on the daily aggregate)."""
    stmt = (
        select(Actor.slug)
        .join(ObservationDaily, ObservationDaily.actor_id == Actor.id)
        .where(ObservationDaily.topic_id == topic_id)
        .group_by(Actor.slug)
        .order_by(func.sum(ObservationDaily.count).desc(), Actor.slug)
    )
    return list(session.scalars(stmt))


def coding_pairs(session: Session, *, topic_id: int | None) -> list[tuple[str, str, str]]:
    """(topic slug, automatic label, manual label) for every manual observation of an article.

    The automatic side is the extractor's observation of the same article, actor and topic on the
    nearest day ("none" when the extractor coded nothing there, "rejected" when a reviewer rejected it).
    """
    manual = aliased(Observation)
    auto = aliased(Observation)
    stmt = (
        select(
            Topic.slug, manual.id, manual.label, manual.observed_at, auto.label, auto.status, auto.observed_at
        )
        .select_from(manual)
        .join(Topic, Topic.id == manual.topic_id)
        .outerjoin(
            auto,
            (auto.article_id == manual.article_id)
            & (auto.actor_id == manual.actor_id)
            & (auto.topic_id == manual.topic_id)
            & (auto.method != "manual"),
        )
        .where(manual.method == "manual", manual.article_id.is_not(None))
        .order_by(manual.id)
    )
    if topic_id is not None:
        stmt = stmt.where(manual.topic_id == topic_id)
    best: dict[int, tuple[str, str, str, float]] = {}
    for slug, manual_id, manual_label, manual_at, auto_label, auto_status, auto_at in session.execute(stmt):
        if auto_label is None:
            candidate = (slug, "none", manual_label, float("inf"))
        else:
            automatic = "rejected" if auto_status == "rejected" else auto_label
            candidate = (slug, automatic, manual_label, abs((auto_at - manual_at).total_seconds()))
        if manual_id not in best or candidate[3] < best[manual_id][3]:
            best[manual_id] = candidate
    return [(slug, automatic, manual_label) for slug, automatic, manual_label, _ in best.values()]
