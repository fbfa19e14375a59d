"""Dry-run extraction: POST a text, read what extraction makes of it (and why); nothing is stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import ReadAccess, ReadScopeDep, RegistryCacheDep, SettingsDep
from app.api.extract_schemas import ExtractRequest, ExtractResponse

router = APIRouter(prefix="/extract", tags=["extraction"])

ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input, an unknown `topic`, or a registry fragment that would not load"}
}


# the read check is named on the route as well as on the router: a request whose body cannot be
# parsed is answered by the route's own key checks first (deps.key_refusal), so no key learns 401
@router.post("", dependencies=[ReadAccess], response_model=ExtractResponse, responses=ERRORS)
def extract_text(
    data: ExtractRequest, read_scope: ReadScopeDep, registry: RegistryCacheDep, settings: SettingsDep
) -> ExtractResponse:
    """Extract observations from a text as ingest would, without storing the text or them: to try a
    topic out before defining it (`registry`: a fragment in the registry format, used for this
    request only), or to see why a text gave nothing (`explain`). Needs read access only.

    The registry is read in a short read-only unit of work: the extraction holds no transaction."""
    with read_scope() as session:
        stored = registry.get(session).snapshot
    return ExtractResponse.of(data.run(stored, engine=settings.extraction_engine))
