from __future__ import annotations

from fastapi import APIRouter

from app import registry
from app.api.deps import AdminAccess
from app.db import SessionDep
from app.schemas import RegistryImport, RegistryImportResult

router = APIRouter(prefix="/registry", tags=["registry"])


@router.post("", dependencies=[AdminAccess], response_model=RegistryImportResult, responses={422: {}})
def import_registry(data: RegistryImport, session: SessionDep) -> RegistryImportResult:
    """Import actors and topics in the registry file format; upsert by slug, idempotent."""
    return registry.import_registry(session, data)
