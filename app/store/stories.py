"""Article fingerprints and the candidate copies they point at (see app.ingest.fingerprint)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from app.models import Article, ArticleFingerprint, ArticleFingerprintBand


@dataclass(frozen=True)
class Candidate:
    article_id: int
    story_id: int | None
    signature: bytes


def replace_fingerprint(
    session: Session, *, article_id: int, signature: bytes | None, band_keys: Sequence[int]
) -> None:
    """Store an article's fingerprint in place of any earlier one (None: forget it)."""
    forget_fingerprint(session, article_id=article_id)
    if signature is None:
        return
    session.add(ArticleFingerprint(article_id=article_id, signature=signature.hex()))
    session.add_all(ArticleFingerprintBand(band_key=key, article_id=article_id) for key in set(band_keys))
    session.flush()


def forget_fingerprint(session: Session, *, article_id: int) -> None:
    session.execute(delete(ArticleFingerprintBand).where(ArticleFingerprintBand.article_id == article_id))
    session.execute(delete(ArticleFingerprint).where(ArticleFingerprint.article_id == article_id))


def list_candidates(session: Session, *, band_keys: Sequence[int], exclude_id: int) -> list[Candidate]:
    """Fingerprinted articles sharing a band key, oldest first, leaving out `exclude_id` and its
    own copies."""
    if not band_keys:
        return []
    matching = (
        select(ArticleFingerprintBand.article_id)
        .where(ArticleFingerprintBand.band_key.in_(sorted(set(band_keys))))
        .distinct()
        .scalar_subquery()
    )
    stmt = (
        select(Article.id, Article.story_id, ArticleFingerprint.signature)
        .join(ArticleFingerprint, ArticleFingerprint.article_id == Article.id)
        .where(Article.id.in_(matching), Article.id != exclude_id)
        .where((Article.story_id.is_(None)) | (Article.story_id != exclude_id))
        .order_by(Article.id)
    )
    return [Candidate(int(a), s, bytes.fromhex(sig)) for a, s, sig in session.execute(stmt)]


def has_copies(session: Session, *, article_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Article.story_id == article_id))))
