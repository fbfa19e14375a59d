"""What the routers share: their dependencies (settings, caches, key checks), the OpenAPI entries
of the answers every router may give, the 404 of a lookup that found nothing, and the status of an
idempotent create."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response, params, status
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import solve_dependencies
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from app import auth
from app.config import Settings
from app.db import InlineReaderDep, read_inline, session_scope
from app.errors import NotFound, StancelineError
from app.ingest.articles import ReadScope
from app.jobs.extraction import Announcer
from app.models import ApiKey
from app.registry.context import RegistryCache
from app.schemas import ErrorBody

# async, as every dependency here: FastAPI runs a plain `def` dependency in the thread pool


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_registry_cache(request: Request) -> RegistryCache:
    cache: RegistryCache = request.app.state.registry_cache
    return cache


async def get_announcer(request: Request) -> Announcer | None:
    """Who to tell about newly queued extractions (app.main sets it: the local workers or the broker)."""
    announcer: Announcer | None = getattr(request.app.state, "extraction_announcer", None)
    return announcer


async def get_read_scope(request: Request) -> ReadScope:
    """Short read-only units of work on the request pool: what a write request does before its
    own unit of work (SessionDep) begins, and so before it holds SQLite's write lock; and what a
    cached read computes with on a miss (a hit needs no session at all)."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return partial(session_scope, factory, write=False)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ReadScopeDep = Annotated[ReadScope, Depends(get_read_scope)]
RegistryCacheDep = Annotated[RegistryCache, Depends(get_registry_cache)]
AnnouncerDep = Annotated[Announcer | None, Depends(get_announcer)]

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
KeyHeaderDep = Annotated[str | None, Depends(_key_header)]
# every key check `_access` made: a route's own dependencies name the checks it needs
_KEY_CHECKS: set[Callable[..., Any]] = set()


def _access(needed: str) -> params.Depends:
    async def check(
        request: Request,
        reader: InlineReaderDep,
        settings: SettingsDep,
        bearer: BearerDep,
        header: KeyHeaderDep,
    ) -> ApiKey | None:
        if needed == "read" and settings.public_read:
            return None
        # a route with a write scope also passes its router's read check: look the key up once
        held: ApiKey | None = getattr(request.state, "api_key", None)
        if held is not None and auth.grants(held.scope, needed):
            return held
        plain = bearer.credentials if bearer is not None else header
        # one indexed read, on the inline-read thread: 503 if the database does not answer in time
        key = await read_inline(
            request, reader, lambda session: auth.authorize(session, plain=plain, needed=needed)
        )
        request.state.api_key = key
        return key

    _KEY_CHECKS.add(check)
    return params.Depends(check)


async def key_refusal(request: Request) -> StancelineError | None:
    """The 401 or 403 the route's key checks answer (None when they pass), for a request refused
    before they ran.

    FastAPI parses a JSON body before it solves any dependency, so a malformed body would be
    answered (422) before a missing key (401): the error handlers ask this first, and a request
    without a valid key learns nothing about how its body is read. Runs the route's own checks
    through FastAPI's dependency solver, so dependency overrides apply as they do to the route.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    checks = [d for d in route.dependant.dependencies if d.call in _KEY_CHECKS]
    if not checks:
        return None
    async with AsyncExitStack() as stack:
        try:
            await solve_dependencies(
                request=request,
                dependant=Dependant(dependencies=checks),
                dependency_overrides_provider=request.app,
                async_exit_stack=stack,
                embed_body_fields=False,
            )
        except StancelineError as refusal:  # 401, 403, or 503 when the key cannot be looked up
            return refusal
    return None


ReadAccess = _access("read")
ACCESS_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "The API key lacks the scope this request needs"},
}
WriteAccess = _access("write")
AdminAccess = _access("admin")
INVALID_INPUT: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input; the body names the field"}
}

T = TypeVar("T")


def or_not_found(row: T | None, resource: str, key: object) -> T:
    """`row`, or the 404 naming `resource` and `key` when the lookup found none."""
    if row is None:
        raise NotFound(resource, key)
    return row


def ok_unless_created(response: Response, created: bool) -> None:
    """A create that finds the same entry stored answers 200 instead of 201, so a client retrying
    a request it saw fail can tell that nothing new was added."""
    if not created:
        response.status_code = status.HTTP_200_OK
