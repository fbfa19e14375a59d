from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AdminAccess
from app.api.jobs import ReextractAfterWriteDep
from app.db import SessionDep
from app.registry import edits as registry
from app.schemas import RegistryImport, RegistryImportResult

router = APIRouter(prefix="/registry", tags=["registry"])


@router.post("", dependencies=[AdminAccess], response_model=RegistryImportResult, responses={422: {}})
def import_registry(
    data: RegistryImport, session: SessionDep, reextraction: ReextractAfterWriteDep
) -> RegistryImportResult:
    """Import actors and topics in the registry file format; upsert by slug, idempotent.

    The stored articles the created and updated actors and topics can affect are re-extracted in
    the background (`reextraction` names the job; none with `reextract=false`)."""
    result, change = registry.import_registry_with_reach(session, data)
    result.reextraction = reextraction.start(session, change, reason="registry import")
    return result
