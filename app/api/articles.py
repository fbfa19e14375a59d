from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from app import ingest, shifts
from app.api.convert import article_detail, article_read
from app.api.deps import RegistryCacheDep, SettingsDep
from app.db import SessionDep
from app.errors import InvalidInput, NotFound
from app.pagination import CursorParam, Limit, decode_cursor, encode_cursor
from app.schemas import (
    ArticleBatch,
    ArticleCreate,
    ArticleDetail,
    ArticleRead,
    BatchResult,
    IngestResult,
    Page,
    UTCDateTimeIn,
)
from app.store import articles as article_store
from app.store import observations as observation_store

router = APIRouter(prefix="/articles", tags=["articles"])

ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid input; the body names the field"}}


@router.post(
    "",
    response_model=IngestResult,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": IngestResult, "description": "Unchanged or revised"}, 409: {}, **ERRORS},
)
def create_article(
    data: ArticleCreate,
    session: SessionDep,
    settings: SettingsDep,
    registry: RegistryCacheDep,
    response: Response,
) -> IngestResult:
    """Ingest one article. The same url with the same text is `unchanged`; new text makes a new revision."""
    context = registry.get(session)
    outcome = ingest.ingest_article(session, data, context=context, engine=settings.extraction_engine)
    shifts.after_write(
        session,
        outcome.touched,
        settings=settings,
    )
    if outcome.status != "created":
        response.status_code = status.HTTP_200_OK
    return IngestResult(
        status=outcome.status,
        article_id=outcome.article.id,
        revision=outcome.article.revision,
        observations=outcome.observations,
    )


@router.post("/batch", response_model=BatchResult, responses=ERRORS)
def create_articles_batch(
    data: ArticleBatch, session: SessionDep, settings: SettingsDep, registry: RegistryCacheDep
) -> BatchResult:
    """Ingest up to 1000 articles; results come back in input order and a bad item does not sink the others."""
    if len(data.articles) > settings.batch_max_articles:
        raise InvalidInput(f"at most {settings.batch_max_articles} articles per batch", field="articles")
    context = registry.get(session)
    outcome = ingest.ingest_batch(session, data.articles, context=context, engine=settings.extraction_engine)
    shifts.after_write(
        session,
        outcome.touched,
        settings=settings,
    )
    return BatchResult(results=outcome.results)


@router.get("", response_model=Page[ArticleRead])
def list_articles(
    session: SessionDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
    source: Annotated[str | None, Query(description="Source name")] = None,
    published_from: Annotated[UTCDateTimeIn | None, Query(alias="from")] = None,
    published_to: Annotated[UTCDateTimeIn | None, Query(alias="to")] = None,
    language: str | None = None,
) -> Page[ArticleRead]:
    after = None
    if cursor is not None:
        stamp, last_id = decode_cursor(cursor, 2)
        after = (_cursor_time(stamp), int(last_id))
    rows = article_store.list_articles(
        session,
        source=source,
        published_from=published_from,
        published_to=published_to,
        language=language,
        after=after,
        limit=limit + 1,
    )
    items = rows[:limit]
    next_cursor = (
        encode_cursor(items[-1].published_at.isoformat(), items[-1].id) if len(rows) > limit else None
    )
    return Page[ArticleRead](items=[article_read(a) for a in items], next_cursor=next_cursor)


@router.get("/{article_id}", response_model=ArticleDetail, responses={404: {}})
def get_article(article_id: int, session: SessionDep) -> ArticleDetail:
    article = article_store.get_article(session, article_id=article_id)
    if article is None:
        raise NotFound("article", article_id)
    observations = observation_store.list_article_observations(session, article_id=article_id)
    return article_detail(article, observations)


def _cursor_time(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as error:
        raise InvalidInput("cursor is not one this service issued", field="cursor") from error
