"""Keep the `shift` table in step with the data: detect, reconcile with what is stored, announce.

Shifts are computed on each actor's roll-up series (a bloc includes its members as of each
observation's date). After a write touches (topic, actor) pairs, `refresh_shifts` recomputes the
series of those actors and of every actor they roll up into, then reconciles: a detection that
matches a stored shift (same direction, and dates within `MATCH_DAYS` or the same observations
before it) updates it in place (a moved shift keeps its first-detected time; a withdrawn one the
data supports again is revived), a new one is inserted, an active one that is no longer detected
is withdrawn. Each change is written to the webhook outbox in the same transaction. Flush, never
commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app import series
from app.config import Settings
from app.models import Actor, Shift, Topic, utcnow
from app.store import extraction_queue, shift_queue, unit_of_work
from app.store import shifts as shift_store
from app.store import timelines as timeline_store
from app.store import webhooks as webhook_store
from app.timelines import shifts as shift_detection
from app.timelines.shifts import OfficeChange
from app.timelines.shifts import Shift as DetectedShift

logger = logging.getLogger(__name__)

MATCH_DAYS = 21
MOVE_DAYS = 1


@dataclass(frozen=True)
class ShiftChange:
    event: str  # shift.detected | shift.moved | shift.withdrawn
    shift: Shift


def detect_for(
    session: Session, *, topic: Topic, actors: Sequence[Actor], member_weight: float
) -> dict[str, list[DetectedShift]]:
    """Detected shifts of each actor's roll-up series on `topic`, by actor slug."""
    if not actors:
        return {}
    memberships = timeline_store.memberships(session)
    attributed = series.attributed_rows(
        session,
        topic_id=topic.id,
        actors={a.slug: a.id for a in actors},
        member_weight=member_weight,
        memberships=memberships,
    )
    found: dict[str, list[DetectedShift]] = {a.slug: [] for a in actors}
    for shift in shift_detection.detect_all(attributed, memberships=memberships):
        found.setdefault(shift.series, []).append(shift)
    return found


def _apply(shift: Shift, detected: DetectedShift) -> None:
    shift.direction, shift.at = detected.direction, detected.at
    shift.window_start, shift.window_end = detected.window_start, detected.window_end
    shift.before, shift.after = float(detected.before), float(detected.after)
    shift.delta, shift.confidence = float(detected.delta), float(detected.confidence)
    shift.evidence_before = [int(i) for i in detected.evidence_before]
    shift.evidence_after = [int(i) for i in detected.evidence_after]
    shift.cue_ids = [int(i) for i in detected.cue_ids]
    shift.bases = list(detected.basis)
    shift.reasons = [str(r) for r in detected.reasons]
    shift.office_change = _office_change(detected.office_change)


def _office_change(change: OfficeChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    at = change.at if change.at.tzinfo is None else change.at.astimezone(UTC)
    return {"before": list(change.before), "after": list(change.after), "at": _jsonable(at)}


def _changed(shift: Shift, detected: DetectedShift) -> bool:
    return (
        abs(shift.at - detected.at) >= timedelta(days=MOVE_DAYS)
        or abs(shift.before - detected.before) > 1e-6
        or abs(shift.after - detected.after) > 1e-6
        or sorted(shift.evidence_after) != sorted(int(i) for i in detected.evidence_after)
        or shift.bases != list(detected.basis)
    )


def _same_change(stored: Shift, detected: DetectedShift) -> bool:
    """The same change of position: same direction, and dated close or resting on the same
    observations before it (a shift whose later evidence was rejected and verified again may come
    back at another date)."""
    if stored.direction != detected.direction:
        return False
    near = abs(stored.at - detected.at) <= timedelta(days=MATCH_DAYS)
    return near or bool(set(stored.evidence_before) & set(detected.evidence_before))


def reconcile(
    session: Session, *, topic: Topic, actor: Actor, detected: Sequence[DetectedShift]
) -> list[ShiftChange]:
    # withdrawn shifts are candidates too: a shift the data supports again is the same shift
    unmatched = shift_store.list_series_shifts(session, topic_id=topic.id, actor_id=actor.id)
    changes: list[ShiftChange] = []
    for item in detected:
        match = min(
            (s for s in unmatched if _same_change(s, item)),
            key=lambda s: abs(s.at - item.at),
            default=None,
        )
        if match is None:
            shift = Shift(topic_id=topic.id, actor_id=actor.id, status="active")
            _apply(shift, item)
            session.add(shift)
            changes.append(ShiftChange("shift.detected", shift))
            continue
        unmatched.remove(match)
        if match.status == "withdrawn":
            match.status = "active"
            _apply(match, item)
            changes.append(ShiftChange("shift.detected", match))
        elif _changed(match, item):
            moved = abs(match.at - item.at) >= timedelta(days=MOVE_DAYS)
            _apply(match, item)
            if moved:
                changes.append(ShiftChange("shift.moved", match))
    for gone in unmatched:
        if gone.status == "active":
            gone.status = "withdrawn"
            changes.append(ShiftChange("shift.withdrawn", gone))
    session.flush()
    return changes


def refresh_shifts(
    session: Session, *, touched: Iterable[tuple[int, int]], settings: Settings
) -> list[ShiftChange]:
    """Recompute and reconcile the shifts of every (topic_id, actor_id) pair a write touched,
    including the actors those actors roll up into."""
    by_topic: dict[int, set[int]] = {}
    for topic_id, actor_id in touched:
        by_topic.setdefault(topic_id, set()).add(actor_id)
    changes: list[ShiftChange] = []
    for topic_id, actor_ids in by_topic.items():
        targets = actor_ids | timeline_store.ancestor_ids(session, actor_ids=actor_ids)
        topic = session.get(Topic, topic_id)
        actors = [a for a in (session.get(Actor, i) for i in sorted(targets)) if a is not None]
        if topic is None:
            continue
        found = detect_for(session, topic=topic, actors=actors, member_weight=settings.rollup_member_weight)
        for actor in actors:
            changes += reconcile(session, topic=topic, actor=actor, detected=found.get(actor.slug, []))
    if settings.webhook_urls:
        for change in changes:
            webhook_store.add_deliveries(
                session,
                urls=settings.webhook_urls,
                event=change.event,
                payload=event_payload(session, change),
            )
    if changes:
        logger.info("shifts.refreshed changes=%d", len(changes))
    return changes


def shift_documents(session: Session, shifts: Sequence[Shift]) -> list[dict[str, Any]]:
    """Shifts with the observations on both sides, as the API and webhooks present them
    (one query for the evidence of all of them)."""
    cited = shift_store.evidence_rows(
        session,
        observation_ids=[i for s in shifts for i in (*s.evidence_before, *s.evidence_after, *s.cue_ids)],
    )
    return [_document(session, shift, cited) for shift in shifts]


def _document(session: Session, shift: Shift, cited: dict[int, dict[str, Any]]) -> dict[str, Any]:
    def side(ids: list[int]) -> list[dict[str, Any]]:
        return [_evidence(cited[i]) for i in ids if i in cited]

    actor = session.get(Actor, shift.actor_id)
    topic = session.get(Topic, shift.topic_id)
    return {
        "id": shift.id,
        "topic": topic.slug if topic else None,
        "actor": actor.slug if actor else None,
        "actor_name": actor.name if actor else None,
        "at": shift.at,
        "window_start": shift.window_start,
        "window_end": shift.window_end,
        "before": round(shift.before, 6),
        "after": round(shift.after, 6),
        "delta": round(shift.delta, 6),
        "direction": shift.direction,
        "confidence": round(shift.confidence, 6),
        "basis": shift.bases,
        "grade": shift.bases[0],
        "reasons": list(shift.reasons or []),
        "office_change": shift.office_change,
        "status": shift.status,
        "first_detected_at": shift.first_detected_at,
        "updated_at": shift.updated_at,
        "evidence_before": side(shift.evidence_before),
        "evidence_after": side(shift.evidence_after),
        "cues": side(shift.cue_ids),
    }


def _evidence(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "observation_id": row["id"],
        "observed_at": row["observed_at"],
        "score": row["score"],
        "shift_cue": bool(row["shift"]),
        "evidence": row["evidence"],
        "speaker": row["speaker"],
        "article_id": row["article_id"],
        "article_url": row["url"],
        "article_title": row["title"],
        "supporting": (row["extras"] or {}).get("supporting") or [],
    }


def event_payload(session: Session, change: ShiftChange) -> dict[str, Any]:
    [document] = shift_documents(session, [change.shift])
    return {"event": change.event, "shift": _jsonable(document)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@unit_of_work.on_series_changed
def _series_changed(session: Session, touched: frozenset[tuple[int, int]]) -> None:
    """Run by the unit of work before it commits, with every series its writes touched, when
    shift detection is `sync` (`deferred` queues them for `process_queue` instead)."""
    refresh_shifts(session, touched=touched, settings=unit_of_work.settings_of(session))


def process_queue(session: Session, *, settings: Settings, limit: int = 500, settle: bool = True) -> int:
    """Refresh the shifts of queued series (one refresh per series however often it was queued).

    `settle`: only series queued at least `shift_settle_seconds` ago (`shift_settle_backlog_seconds`
    while articles wait for extraction), so that a burst of writes refreshes a series once after
    the burst (or once every so often during a long one) rather than after every write; without
    it, every queued series (what a command does before it ends).
    """
    wait = settings.shift_settle_seconds if settle else 0.0
    if settle and extraction_queue.has_pending(session):
        # a backlog being extracted touches the same series again and again: refreshing each every
        # few seconds would take CPU from the extraction workers for results soon out of date
        wait = max(wait, settings.shift_settle_backlog_seconds)
    queued_before = utcnow() - timedelta(seconds=wait) if wait > 0 else None
    pairs = shift_queue.claim(session, limit=limit, queued_before=queued_before)
    if pairs:
        refresh_shifts(session, touched=pairs, settings=settings)
    return len(pairs)
