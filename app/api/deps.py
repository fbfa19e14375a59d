from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.ingest import RegistryCache


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_registry_cache(request: Request) -> RegistryCache:
    cache: RegistryCache = request.app.state.registry_cache
    return cache


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RegistryCacheDep = Annotated[RegistryCache, Depends(get_registry_cache)]
