"""Shift events to webhook URLs: signed, retried with backoff, delivered after the data committed.

Events are written to the `webhook_delivery` outbox in the same transaction as the shift they
announce, so a rolled-back ingest announces nothing and a crash loses no event. The background
worker of each API process (`app.jobs.periodic`), or the CLI at the end of a run, posts due rows.

Each POST carries `X-Stanceline-Event`, `X-Stanceline-Delivery` (the outbox id, for receivers
to deduplicate), `X-Stanceline-Timestamp` and, when a secret is set,
`X-Stanceline-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

import httpx
import orjson
from sqlalchemy.orm import Session, sessionmaker

from app.db import session_scope
from app.models import WebhookDelivery, utcnow
from app.store import webhooks as webhook_store

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _post(client: httpx.Client, delivery: WebhookDelivery, secret: str | None) -> str | None:
    """None when the receiver accepted the event, else why not."""
    body = orjson.dumps(delivery.payload)
    timestamp = str(int(utcnow().timestamp()))
    headers = {
        "content-type": "application/json",
        "x-stanceline-event": delivery.event,
        "x-stanceline-delivery": str(delivery.id),
        "x-stanceline-timestamp": timestamp,
    }
    if secret:
        headers["x-stanceline-signature"] = signature(secret, timestamp, body)
    try:
        response = client.post(delivery.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    return None if response.is_success else f"HTTP {response.status_code}"


def deliver_due(
    factory: sessionmaker[Session], *, secret: str | None, max_attempts: int, timeout: float
) -> int:
    """Post every due delivery once; returns how many were accepted."""
    accepted = 0
    with session_scope(factory) as session, httpx.Client(timeout=timeout) as client:
        for delivery in webhook_store.claim_due(session, now=utcnow()):
            error = _post(client, delivery, secret)
            delivery.attempts += 1
            if error is None:
                delivery.delivered_at = utcnow()
                accepted += 1
                continue
            delivery.last_error = error[:1000]
            if delivery.attempts >= max_attempts:
                delivery.failed_at = utcnow()
                logger.error("webhook.failed delivery=%s url=%s error=%s", delivery.id, delivery.url, error)
            else:
                delivery.next_attempt_at = utcnow() + min(
                    MAX_BACKOFF, timedelta(seconds=2**delivery.attempts)
                )
                logger.warning(
                    "webhook.retry delivery=%s attempt=%d error=%s", delivery.id, delivery.attempts, error
                )
    return accepted
