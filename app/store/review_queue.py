"""The review queue: unreviewed automatic observations, those whose review would teach the model
most first.

An automatic observation's `confidence` is its engine's probability that the claim holds (the
learned model writes exactly that), so its uncertainty is `1 - |2 * confidence - 1|`: 1 at 0.5,
0 at 0 or 1. The queue is ordered by it, computed in SQL, then by the newest `observed_at`, then
by id (ascending), and paged by keyset on those three.

Two partial indexes hold that order over the unreviewed rows (`app.models`, migration 0016): the
whole queue's and one topic's. A page is then an index range read of `limit` rows on both engines
instead of a sort of every unreviewed row (on a million observations, about 2 ms instead of
300-400 ms). Several topics are read as one such range per topic, merged: SQLite would otherwise
read and sort all of their rows. An actor filter without a topic follows the actor's index and
sorts that actor's unreviewed rows (SQLite) or walks the queue's index (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from app.models import REVIEW_UNCERTAINTY, UNREVIEWED_STATUSES, Observation

QueueKey = tuple[float, datetime, int]  # (uncertainty, observed_at, id) of the last row of a page
Columns = TypeVarTuple("Columns")


def uncertainty() -> ColumnElement[float]:
    """`1 - abs(2 * confidence - 1)`, in SQL: the expression the queue's indexes hold."""
    return REVIEW_UNCERTAINTY


def unreviewed() -> list[ColumnElement[bool]]:
    """Automatic observations nobody has reviewed (`UNREVIEWED_STATUSES`). The statuses are written
    into the SQL, as in the indexes' predicate, so that both planners see the indexes apply."""
    statuses = [literal(status, literal_execute=True) for status in UNREVIEWED_STATUSES]
    return [Observation.method != "manual", Observation.status.in_(statuses)]


def _one_of(column: InstrumentedAttribute[int], ids: Sequence[int]) -> ColumnElement[bool]:
    # one id as an equality: the form both planners match an index column with most readily
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def _after(key: QueueKey) -> ColumnElement[bool]:
    """Rows past `key` in (uncertainty descending, observed_at descending, id ascending) order.

    The first term says nothing the rest does not, but it is a bound on the index's leading
    expression: both planners start the index read at the key instead of filtering their way
    to it from the top of the queue."""
    level, observed_at, last_id = key
    return and_(
        uncertainty() <= level,
        or_(
            uncertainty() < level,
            and_(
                uncertainty() == level,
                or_(
                    Observation.observed_at < observed_at,
                    and_(Observation.observed_at == observed_at, Observation.id > last_id),
                ),
            ),
        ),
    )


def _in_order(stmt: Select[*Columns]) -> Select[*Columns]:
    return stmt.order_by(uncertainty().desc(), Observation.observed_at.desc(), Observation.id)


def _page(
    topic_ids: Sequence[int], actor_ids: Sequence[int], after: QueueKey | None, limit: int
) -> Select[Observation, float]:
    """The page's rows: (Observation, uncertainty), filtered, in queue order."""
    clauses = unreviewed()
    if actor_ids:
        clauses.append(_one_of(Observation.actor_id, actor_ids))
    if after is not None:
        clauses.append(_after(after))
    if len(topic_ids) <= 1:
        if topic_ids:
            clauses.append(Observation.topic_id == topic_ids[0])
        return _in_order(select(Observation, uncertainty().label("uncertainty")).where(*clauses)).limit(limit)
    # the first `limit` of each topic (an index range each), then the first `limit` of those
    firsts = [
        select(
            _in_order(select(Observation.id).where(*clauses, Observation.topic_id == topic_id))
            .limit(limit)
            .subquery()
        )
        for topic_id in dict.fromkeys(topic_ids)
    ]
    candidates = union_all(*firsts).subquery("candidates")
    return _in_order(
        select(Observation, uncertainty().label("uncertainty")).join(
            candidates, candidates.c.id == Observation.id
        )
    ).limit(limit)


def list_review_queue(
    session: Session,
    *,
    topic_ids: Sequence[int] = (),
    actor_ids: Sequence[int] = (),
    after: QueueKey | None = None,
    limit: int,
) -> list[tuple[Observation, float]]:
    """Up to `limit` unreviewed automatic observations (actor and topic loaded), most uncertain
    first, each with its uncertainty as computed in SQL (the exact value a cursor carries); only
    those on `topic_ids` and by `actor_ids` when given."""
    stmt = _page(topic_ids, actor_ids, after, limit).options(
        joinedload(Observation.actor), joinedload(Observation.topic)
    )
    return [(observation, float(level)) for observation, level in session.execute(stmt)]
