from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, TypedDict

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.orm import Session

from app.api.convert import article_detail, article_read
from app.api.deps import (
    INVALID_INPUT,
    AdminAccess,
    AnnouncerDep,
    ReadScopeDep,
    RegistryCacheDep,
    SettingsDep,
    WriteAccess,
    ok_unless_created,
    or_not_found,
)
from app.api.params import RowId
from app.config import Settings
from app.db import SessionDep
from app.errors import LimitExceeded
from app.ingest import articles as ingest
from app.jobs import extraction
from app.ops import metrics
from app.pagination import CursorParam, Limit, decode_time_cursor, encode_cursor
from app.registry import context as registry_context
from app.registry.context import RegistryCache, RegistryContext
from app.schemas import (
    ArticleBatch,
    ArticleCreate,
    ArticleDeleted,
    ArticleDetail,
    ArticleRead,
    BatchResult,
    IngestResult,
    Page,
    QueryText,
    UTCDateTimeIn,
)
from app.series import require_window
from app.store import articles as article_store
from app.store import observations as observation_store
from app.store.extraction_queue import PENDING

router = APIRouter(prefix="/articles", tags=["articles"])


# --- the work an ingest does before its write transaction ---------------------------------------


def defer_extraction(
    settings: SettingsDep,
    wait: Annotated[
        bool | None,
        Query(
            description=(
                "true: extract in the request and answer with the observations; false: store, answer "
                "at once with `extraction: pending` and leave the extraction to the workers. "
                "Default: STANCELINE_INGEST_WAIT (false)"
            )
        ),
    ] = None,
) -> bool:
    """Whether new articles go to the extraction queue rather than being extracted in the request."""
    return not (settings.ingest_wait if wait is None else wait)


DeferDep = Annotated[bool, Depends(defer_extraction)]


@dataclass(frozen=True)
class PreparedArticle:
    data: ArticleCreate
    ahead: dict[str, ingest.Extraction]


def prepare_article(
    data: ArticleCreate,
    read_scope: ReadScopeDep,
    registry: RegistryCacheDep,
    settings: SettingsDep,
    defer: DeferDep,
) -> PreparedArticle:
    """The article's extraction, run in the thread pool before the write transaction begins."""
    ahead = ingest.prepare(read_scope, [data], cache=registry, engine=settings.extraction_engine, defer=defer)
    return PreparedArticle(data, ahead)


@dataclass(frozen=True)
class PreparedBatch:
    batch: ingest.ValidatedBatch
    ahead: dict[str, ingest.Extraction]


def prepare_batch(
    data: ArticleBatch,
    read_scope: ReadScopeDep,
    registry: RegistryCacheDep,
    settings: SettingsDep,
    defer: DeferDep,
) -> PreparedBatch:
    """The items checked one by one, and their extraction, before the write transaction begins."""
    if len(data.articles) > settings.batch_max_articles:
        limit = settings.batch_max_articles
        raise LimitExceeded(f"at most {limit} articles per batch", field="articles", limit=limit)
    batch = ingest.validate_batch(data.articles)
    ahead = ingest.prepare(
        read_scope,
        list(batch.articles.values()),
        cache=registry,
        engine=settings.extraction_engine,
        defer=defer,
    )
    return PreparedBatch(batch, ahead)


class IngestOptions(TypedDict):
    """How an ingest runs, as the request and the settings decide it: the same for one article
    and for a batch, so the two endpoints cannot drift apart."""

    context: RegistryContext
    engine: str
    link_stories: bool
    ahead: Mapping[str, ingest.Extraction]
    defer: bool


def _ingest_options(
    session: Session,
    registry: RegistryCache,
    settings: Settings,
    ahead: Mapping[str, ingest.Extraction],
    defer: bool,
) -> IngestOptions:
    return IngestOptions(
        context=registry.get(session),
        engine=settings.extraction_engine,
        link_stories=settings.story_linking == "all",
        ahead=ahead,
        defer=defer,
    )


# Dependencies are solved in the order of the parameters: these come before `session`, so the
# extraction is done before the request's write transaction begins (BEGIN IMMEDIATE on SQLite).
PreparedArticleDep = Annotated[PreparedArticle, Depends(prepare_article)]
PreparedBatchDep = Annotated[PreparedBatch, Depends(prepare_batch)]


@router.post(
    "",
    dependencies=[WriteAccess],
    response_model=IngestResult,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": IngestResult, "description": "Unchanged or revised"}, 409: {}, **INVALID_INPUT},
)
def create_article(
    prepared: PreparedArticleDep,
    session: SessionDep,
    settings: SettingsDep,
    registry: RegistryCacheDep,
    defer: DeferDep,
    announcer: AnnouncerDep,
    response: Response,
) -> IngestResult:
    """Ingest one article. The same url with the same text is `unchanged` (`reextracted` when it was
    extracted under an older registry or extractor: extracted again in place); new text makes a new
    revision, which keeps the reviews whose evidence sentence is still in the text (`kept_reviewed`)
    and reports those it had to drop (`dropped`). With no topics or no actors defined the article
    is stored and `warnings` says so (`empty_registry`).

    A new article is stored and its extraction queued (`extraction: pending`, 201 at once);
    `?wait=true` extracts it in the request and answers with its observations. A revision or a
    re-extraction is always extracted in the request, since its answer says what became of the
    article's reviews."""
    options = _ingest_options(session, registry, settings, prepared.ahead, defer)
    outcome = ingest.ingest_article_safely(session, prepared.data, **options)
    if outcome.extraction == PENDING:
        extraction.announce_after_commit(session, [outcome.article.id], announcer)
    metrics.count_articles([outcome.status])
    ok_unless_created(response, outcome.status == "created")
    result = ingest.ingest_result(outcome)
    result.warnings = registry_context.registry_warnings(options["context"])
    return result


@router.post("/batch", dependencies=[WriteAccess], response_model=BatchResult, responses=INVALID_INPUT)
def create_articles_batch(
    prepared: PreparedBatchDep,
    session: SessionDep,
    settings: SettingsDep,
    registry: RegistryCacheDep,
    defer: DeferDep,
    announcer: AnnouncerDep,
) -> BatchResult:
    """Ingest up to 1000 articles; results come back in input order and a bad item does not sink
    the others. New articles are queued for extraction (`extraction: pending` on their result)
    unless `?wait=true`."""
    options = _ingest_options(session, registry, settings, prepared.ahead, defer)
    outcome = ingest.store_batch(session, prepared.batch, **options)
    queued = [r.article_id for r in outcome.results if r.extraction == PENDING and r.article_id is not None]
    extraction.announce_after_commit(session, queued, announcer)
    metrics.count_articles(result.status for result in outcome.results)
    return BatchResult(
        results=outcome.results, warnings=registry_context.registry_warnings(options["context"])
    )


@router.get("", response_model=Page[ArticleRead])
def list_articles(
    session: SessionDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
    source: Annotated[QueryText | None, Query(description="Source name")] = None,
    published_from: Annotated[UTCDateTimeIn | None, Query(alias="from")] = None,
    published_to: Annotated[UTCDateTimeIn | None, Query(alias="to")] = None,
    language: QueryText | None = None,
) -> Page[ArticleRead]:
    require_window(published_from, published_to)
    after = decode_time_cursor(cursor) if cursor is not None else None
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
def get_article(article_id: RowId, session: SessionDep) -> ArticleDetail:
    article = or_not_found(article_store.get_article(session, article_id=article_id), "article", article_id)
    observations = observation_store.list_article_observations(session, article_id=article_id)
    return article_detail(article, observations)


@router.delete(
    "/{article_id}", dependencies=[AdminAccess], response_model=ArticleDeleted, responses={404: {}}
)
def delete_article(article_id: RowId, session: SessionDep, settings: SettingsDep) -> ArticleDeleted:
    """Delete an article with its revisions and every observation coded from it; timelines and
    shifts follow."""
    deletion = ingest.delete_article(session, article_id)
    return ArticleDeleted(article_id=deletion.article_id, observations=deletion.observations)
