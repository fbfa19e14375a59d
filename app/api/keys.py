from __future__ import annotations

from fastapi import APIRouter, status

from app import auth
from app.api.deps import AdminAccess
from app.api.params import RowId
from app.db import SessionDep
from app.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from app.store import api_keys as key_store

router = APIRouter(prefix="/keys", tags=["keys"], dependencies=[AdminAccess])


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED, responses={422: {}})
def create_api_key(data: ApiKeyCreate, session: SessionDep) -> ApiKeyCreated:
    """A new key; the plain key is in this response only (the service keeps its hash)."""
    key, plain = auth.create_key(session, name=data.name, scopes=[data.scope])
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "key": plain})


@router.get("", response_model=list[ApiKeyRead])
def list_api_keys(session: SessionDep) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(key) for key in key_store.list_keys(session)]


@router.delete("/{key_id}", response_model=ApiKeyRead, responses={404: {}})
def revoke_api_key(key_id: RowId, session: SessionDep) -> ApiKeyRead:
    """Revoke a key (kept, marked revoked): requests with it get 401 from now on."""
    return ApiKeyRead.model_validate(auth.revoke_key(session, key_id=key_id))
