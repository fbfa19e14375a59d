from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, params
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app import auth
from app.config import Settings
from app.db import InlineReaderDep
from app.ingest import RegistryCache
from app.models import ApiKey
from app.schemas import ErrorBody

# async, as every dependency here: FastAPI runs a plain `def` dependency in the thread pool


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_registry_cache(request: Request) -> RegistryCache:
    cache: RegistryCache = request.app.state.registry_cache
    return cache


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RegistryCacheDep = Annotated[RegistryCache, Depends(get_registry_cache)]

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
KeyHeaderDep = Annotated[str | None, Depends(_key_header)]


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
        # one indexed read, inline: cheaper than a trip to the thread pool
        with reader() as session:
            key = auth.authorize(session, plain=plain, needed=needed)
        request.state.api_key = key
        return key

    return params.Depends(check)


ReadAccess = _access("read")
ACCESS_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "The API key lacks the scope this request needs"},
}
WriteAccess = _access("write")
AdminAccess = _access("admin")
