from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from app.config import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
Format = Literal["json", "csv", "ndjson"]
FormatParam = Annotated[Format, Query(description="json (default), csv (tidy) or ndjson")]
