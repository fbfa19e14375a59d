"""Wire the dashboard into the app: the page and its static files (its reads are `app.api.web`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from app.web import page

STATIC_DIR = Path(__file__).parent / "static"
FOREVER = "public, max-age=31536000, immutable"


class DashboardStaticFiles(StaticFiles):
    """Vendored files carry their version in the path and may be cached for good; our own change
    with each release under the same name, so browsers revalidate them (a cheap 304 on an
    unchanged ETag) instead of running yesterday's copy."""

    def file_response(self, full_path: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(full_path, *args, **kwargs)
        vendored = "vendor" in Path(str(full_path)).relative_to(STATIC_DIR).parts
        response.headers["Cache-Control"] = FOREVER if vendored else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install_dashboard(app: FastAPI) -> None:
    app.include_router(page.build_router(STATIC_DIR / "index.html"))
    app.mount("/static", DashboardStaticFiles(directory=STATIC_DIR), name="static")
