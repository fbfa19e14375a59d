from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import WebhookDelivery


def add_deliveries(session: Session, *, urls: list[str], event: str, payload: dict[str, Any]) -> None:
    session.add_all(WebhookDelivery(url=url, event=event, payload=payload) for url in urls)


def claim_due(session: Session, *, now: datetime, limit: int = 50) -> list[WebhookDelivery]:
    """Deliveries due now; on PostgreSQL rows another worker holds are skipped, not waited for."""
    stmt = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.failed_at.is_(None),
            WebhookDelivery.next_attempt_at <= now,
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def list_deliveries(session: Session) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
