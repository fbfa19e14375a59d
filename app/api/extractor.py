"""`GET /v1/extractor`: the engine this deployment extracts with, and the claim model the
learned engine uses (trained here by `stanceline train`, or the one shipped with the package)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import SettingsDep
from app.db import SessionDep
from app.extraction.claim_model import default_model
from app.schemas import ClaimModelRead, ExtractorRead
from app.store import extractor_models

router = APIRouter(prefix="/extractor", tags=["extraction"])


@router.get("", response_model=ExtractorRead)
def get_extractor(request: Request, session: SessionDep, settings: SettingsDep) -> ExtractorRead:
    """The engine (`STANCELINE_EXTRACTION_ENGINE`) and its version, as stamped on every article
    and observation it extracts, and the learned engine's claim model: its SHA-256 (the first 12
    hex digits end `extractor_version`), where it comes from and what training measured."""
    context = request.app.state.registry_cache.get(session)
    trained = extractor_models.active_model(session)
    model = context.snapshot.claim_model or default_model()
    return ExtractorRead(
        engine=settings.extraction_engine,
        version=context.extractor(settings.extraction_engine).version,
        claim_model=ClaimModelRead(
            sha=model.sha,
            source="trained" if trained is not None and trained.sha == model.sha else "default",
            trained_at=trained.created_at if trained is not None else None,
            keep_read=model.keep_read,
            keep_other=model.keep_other,
            local=model.local,
            trained=dict(model.trained),
            figures=trained.figures if trained is not None else None,
        ),
    )
