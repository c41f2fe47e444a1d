from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import WebhookAdminAuth
from app.db import ConnDep
from app.deps import KeyringDep, SettingsDep, UrlGuardDep
from app.models.common import Data, Page
from app.models.webhooks import (
    Webhook,
    WebhookAttempt,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDeleted,
    WebhookDeliveriesRequest,
    WebhookListRequest,
    WebhookRef,
    WebhookSecret,
)
from app.routers._responses import errors
from app.services import webhooks as webhooks_service

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


@router.post("/create", response_model=Data[WebhookCreated], responses=errors(400, 403, 404))
async def create(
    body: WebhookCreateRequest, auth: WebhookAdminAuth, conn: ConnDep, guard: UrlGuardDep, keyring: KeyringDep
) -> Data[WebhookCreated]:
    """Subscribe a URL to events of the org (or of one company). The signing secret appears only
    in this response. In production the URL must be https and resolve to public addresses only."""
    return Data(data=await webhooks_service.create(conn, auth, body, guard, keyring))


@router.post("/list", response_model=Data[Page[Webhook]], responses=errors(400, 403))
async def list_webhooks(
    auth: WebhookAdminAuth,
    conn: ConnDep,
    body: Annotated[WebhookListRequest, Body(default_factory=WebhookListRequest)],
) -> Data[Page[Webhook]]:
    """The org's webhooks, newest first; secrets are never listed."""
    return Data(data=await webhooks_service.list(conn, auth, body))


@router.post("/delete", response_model=Data[WebhookDeleted], responses=errors(403, 404))
async def delete(body: WebhookRef, auth: WebhookAdminAuth, conn: ConnDep) -> Data[WebhookDeleted]:
    """Delete a webhook; its pending deliveries are dropped with it."""
    return Data(data=await webhooks_service.delete(conn, auth, body.webhook_id))


@router.post("/rotate-secret", response_model=Data[WebhookSecret], responses=errors(403, 404))
async def rotate_secret(
    body: WebhookRef, auth: WebhookAdminAuth, conn: ConnDep, settings: SettingsDep, keyring: KeyringDep
) -> Data[WebhookSecret]:
    """Replace the signing secret; the new one appears only in this response. The previous secret
    keeps signing (a second `v1,` signature) for a grace period, 24 h by default."""
    grace = timedelta(hours=settings.webhook_secret_grace_hours)
    return Data(data=await webhooks_service.rotate_secret(conn, auth, body.webhook_id, grace, keyring))


@router.post("/deliveries", response_model=Data[Page[WebhookAttempt]], responses=errors(400, 403, 404))
async def deliveries(
    body: WebhookDeliveriesRequest, auth: WebhookAdminAuth, conn: ConnDep
) -> Data[Page[WebhookAttempt]]:
    """Delivery attempts of one webhook, newest first: event, delivery id (the webhook-id header),
    attempt number, status code or error, duration and the next attempt."""
    return Data(data=await webhooks_service.deliveries(conn, auth, body))
