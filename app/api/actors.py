from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from app.api.convert import actor_read
from app.api.deps import AdminAccess, ReadScopeDep, ok_unless_created, or_not_found
from app.api.jobs import ReextractAfterWriteDep
from app.api.params import SlugPath
from app.api.read_cache import CACHED_RESPONSES, cached_read, json_response
from app.db import InlineReaderDep, SessionDep
from app.pagination import CursorParam, Limit, decode_cursor, encode_cursor
from app.registry import edits as registry
from app.schemas import ActorCreate, ActorKind, ActorRead, ActorUpdate, ActorWritten, Page, QueryText
from app.store import actors as actor_store

router = APIRouter(prefix="/actors", tags=["registry"])


@router.get("", response_model=Page[ActorRead], responses=CACHED_RESPONSES)
async def list_actors(
    request: Request,
    reader: InlineReaderDep,
    read_scope: ReadScopeDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
    kind: ActorKind | None = None,
    q: Annotated[QueryText | None, Query(max_length=200, description="Substring of name or slug")] = None,
) -> Response:
    """Actors by slug. The ETag changes whenever the registry does: send it back in
    `If-None-Match` to get a 304 while it is current."""
    return await cached_read(
        request, reader, read_scope, lambda s: json_response(_actor_page(s, limit, cursor, kind, q))
    )


def _actor_page(
    session: Session, limit: int, cursor: str | None, kind: str | None, q: str | None
) -> Page[ActorRead]:
    after = str(decode_cursor(cursor, 1)[0]) if cursor else None
    rows = actor_store.list_actors(session, kind=kind, q=q, after_slug=after, limit=limit + 1)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].slug) if len(rows) > limit else None
    return Page[ActorRead](items=[actor_read(a) for a in items], next_cursor=next_cursor)


@router.post(
    "",
    dependencies=[AdminAccess],
    response_model=ActorWritten,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ActorWritten, "description": "Already stored with the same fields: unchanged"},
        409: {"description": "The slug is taken by an actor with other fields"},
        422: {},
    },
)
def create_actor(
    data: ActorCreate, session: SessionDep, response: Response, reextraction: ReextractAfterWriteDep
) -> ActorWritten:
    """Add an actor. Sending the same actor again (a retry, or a racing request) answers 200 with the
    stored actor; the same slug with other fields is 409 `actor_exists` naming `slug`.

    The stored articles that name it (its name or an alias) are re-extracted in the background
    (`reextraction` names the job; none with `reextract=false`)."""
    written = registry.create_actor_with_reach(session, data)
    ok_unless_created(response, written.created)
    started = reextraction.start(session, written.reach, reason=f"actor {data.slug} created")
    return ActorWritten(**dict(_actor(session, written.item.slug)), reextraction=started)


@router.get("/{slug}", response_model=ActorRead, responses={**CACHED_RESPONSES, 404: {}})
async def get_actor(
    slug: SlugPath, request: Request, reader: InlineReaderDep, read_scope: ReadScopeDep
) -> Response:
    """One actor (cached as `list_actors`)."""
    return await cached_read(request, reader, read_scope, lambda s: json_response(_actor(s, slug)))


def _actor(session: Session, slug: str) -> ActorRead:
    return actor_read(or_not_found(actor_store.get_actor(session, slug=slug), "actor", slug))


@router.patch(
    "/{slug}", dependencies=[AdminAccess], response_model=ActorWritten, responses={404: {}, 422: {}}
)
def update_actor(
    slug: SlugPath, data: ActorUpdate, session: SessionDep, reextraction: ReextractAfterWriteDep
) -> ActorWritten:
    """Change an actor; the stored articles naming it, before or after, are re-extracted in the
    background (see `create_actor`)."""
    written = registry.update_actor_with_reach(session, slug, data)
    started = reextraction.start(session, written.reach, reason=f"actor {slug} updated")
    session.expire_all()
    return ActorWritten(**dict(_actor(session, slug)), reextraction=started)
