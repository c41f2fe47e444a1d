from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import ProviderKeyAdminAuth
from app.db import ConnDep
from app.deps import KeyringDep
from app.models.common import Data, Page
from app.models.provider_keys import (
    ProviderKey,
    ProviderKeyDeleted,
    ProviderKeyListRequest,
    ProviderKeyRef,
    ProviderKeySetRequest,
)
from app.routers._responses import errors
from app.services import provider_keys as provider_keys_service

router = APIRouter(prefix="/api/provider-keys", tags=["provider-keys"])


@router.post("/set", response_model=Data[ProviderKey], responses=errors(400, 403))
async def set_key(
    body: ProviderKeySetRequest, auth: ProviderKeyAdminAuth, conn: ConnDep, keyring: KeyringDep
) -> Data[ProviderKey]:
    """Store the org's own key for a provider (encrypted at rest), replacing any key it had for it.
    From then on the org's calls to that provider use this key instead of the deployment's. The key
    is never shown again: answers carry its last 4 characters only."""
    return Data(data=await provider_keys_service.set_key(conn, auth, keyring, body))


@router.post("/list", response_model=Data[Page[ProviderKey]], responses=errors(400, 403))
async def list_keys(
    auth: ProviderKeyAdminAuth,
    conn: ConnDep,
    body: Annotated[ProviderKeyListRequest, Body(default_factory=ProviderKeyListRequest)],
) -> Data[Page[ProviderKey]]:
    """The org's own provider keys, newest first: provider, last 4 characters, when set and last used."""
    return Data(data=await provider_keys_service.list_keys(conn, auth, body))


@router.post("/delete", response_model=Data[ProviderKeyDeleted], responses=errors(400, 403, 404))
async def delete_key(body: ProviderKeyRef, auth: ProviderKeyAdminAuth, conn: ConnDep) -> Data[ProviderKeyDeleted]:
    """Delete the org's key for a provider; its calls go back to the deployment's key (or to
    `not_configured` when DATA_ENGINE_BYO_KEYS_ONLY is set). 404 when the org has none."""
    return Data(data=await provider_keys_service.delete_key(conn, auth, body.provider))
