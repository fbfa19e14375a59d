from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from app.models import Article, ArticleRevision, Observation, Source, utcnow
from app.store import observations as observation_store
from app.store.keyset import after_key


def find_articles_by_identity(session: Session, *, url: str | None, external_id: str | None) -> list[Article]:
    """Articles whose url or external_id match (two rows when they point at different articles)."""
    conditions = []
    if url is not None:
        conditions.append(Article.url == url)
    if external_id is not None:
        conditions.append(Article.external_id == external_id)
    if not conditions:
        return []
    stmt = select(Article).options(joinedload(Article.source)).where(or_(*conditions))
    return list(session.scalars(stmt).unique())


def lock_article(session: Session, *, article_id: int) -> None:
    """Hold the article's row lock to the end of the transaction (a no-op on SQLite, whose writers
    already take turns)."""
    session.execute(select(Article.id).where(Article.id == article_id).with_for_update())


IN_CHUNK = 500  # values per IN list


def list_content_hashes(
    session: Session, *, urls: Collection[str], external_ids: Collection[str]
) -> list[tuple[str | None, str | None, str]]:
    """(url, external_id, content_hash) of every article with one of these urls or external ids."""
    found: list[tuple[str | None, str | None, str]] = []
    for column, values in ((Article.url, sorted(urls)), (Article.external_id, sorted(external_ids))):
        for start in range(0, len(values), IN_CHUNK):
            stmt = select(Article.url, Article.external_id, Article.content_hash).where(
                column.in_(values[start : start + IN_CHUNK])
            )
            found.extend((url, external_id, digest) for url, external_id, digest in session.execute(stmt))
    return found


class StoredExtraction(NamedTuple):
    """A stored article's identity, content hash and extraction stamp (see app.ingest.articles.is_stale)."""

    url: str | None
    external_id: str | None
    content_hash: str
    story_id: int | None
    extracted_registry_revision: int | None
    extractor_version: str | None
    has_automatic: bool  # any automatic observation, reviewed or not
    extraction_state: str | None  # `pending` while waiting for the extraction workers


def list_stored_extractions(
    session: Session, *, urls: Collection[str], external_ids: Collection[str]
) -> list[StoredExtraction]:
    """`StoredExtraction` of every article with one of these urls or external ids."""
    automatic = (
        select(Observation.id)
        .where(Observation.article_id == Article.id, Observation.method != "manual")
        .exists()
    )
    found: list[StoredExtraction] = []
    for column, values in ((Article.url, sorted(urls)), (Article.external_id, sorted(external_ids))):
        for start in range(0, len(values), IN_CHUNK):
            stmt = select(
                Article.url,
                Article.external_id,
                Article.content_hash,
                Article.story_id,
                Article.extracted_registry_revision,
                Article.extractor_version,
                automatic,
                Article.extraction_state,
            ).where(column.in_(values[start : start + IN_CHUNK]))
            found.extend(StoredExtraction(*row) for row in session.execute(stmt))
    return found


def get_article(session: Session, *, article_id: int) -> Article | None:
    stmt = select(Article).options(joinedload(Article.source)).where(Article.id == article_id)
    return session.scalars(stmt).one_or_none()


def get_or_add_source(session: Session, *, name: str) -> Source:
    """The source called `name`, added if new; two writers adding it at once both get the one row."""
    source = session.scalars(select(Source).where(Source.name == name)).one_or_none()
    if source is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(Source).values(name=name, created_at=utcnow()).on_conflict_do_nothing())
        source = session.scalars(select(Source).where(Source.name == name)).one()
    return source


def list_articles(
    session: Session,
    *,
    source: str | None = None,
    published_from: datetime | None = None,
    published_to: datetime | None = None,
    language: str | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int,
) -> list[Article]:
    stmt = (
        select(Article)
        .options(joinedload(Article.source))
        .order_by(Article.published_at, Article.id)
        .limit(limit)
    )
    if source is not None:
        stmt = stmt.join(Source, Article.source_id == Source.id).where(Source.name == source)
    if published_from is not None:
        stmt = stmt.where(Article.published_at >= published_from)
    if published_to is not None:
        stmt = stmt.where(Article.published_at < published_to)
    if language is not None:
        stmt = stmt.where(Article.language == language)
    if after is not None:
        stmt = stmt.where(after_key(Article.published_at, Article.id, after))
    return list(session.scalars(stmt))


def list_article_ids(session: Session, *, after_id: int = 0, limit: int) -> list[int]:
    stmt = select(Article.id).where(Article.id > after_id).order_by(Article.id).limit(limit)
    return list(session.scalars(stmt))


def count_articles(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Article)) or 0)


def delete_article(session: Session, *, article_id: int) -> int:
    """Delete an article with its revisions and observations; returns the observations removed."""
    removed = observation_store.delete_article_observations(session, article_id=article_id)
    session.execute(delete(ArticleRevision).where(ArticleRevision.article_id == article_id))
    session.execute(
        delete(Article).where(Article.id == article_id).execution_options(synchronize_session=False)
    )
    return removed
