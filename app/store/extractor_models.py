"""Trained claim model rows: add one (made active or not), read the active one, list them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import ExtractorModel


def add_model(
    session: Session, *, sha: str, body: str, figures: dict[str, Any], active: bool
) -> ExtractorModel:
    """Store a model; an active one replaces the model active before (in the same transaction)."""
    if active:
        session.execute(update(ExtractorModel).where(ExtractorModel.active).values(active=False))
    row = ExtractorModel(sha=sha, body=body, figures=figures, active=active)
    session.add(row)
    session.flush()
    return row


def active_model(session: Session) -> ExtractorModel | None:
    stmt = select(ExtractorModel).where(ExtractorModel.active).order_by(ExtractorModel.id.desc()).limit(1)
    return session.scalars(stmt).first()


def list_models(session: Session) -> list[ExtractorModel]:
    return list(session.scalars(select(ExtractorModel).order_by(ExtractorModel.id)))
