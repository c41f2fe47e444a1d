"""Outgoing webhooks (CONTRACT §9.6): subscriptions, their one-time secrets, delivery attempts."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from app.models.common import ListRequest, RequestSchema, Schema, Timestamped


class WebhookEvent(StrEnum):
    submission_completed = "submission.completed"
    submission_failed = "submission.failed"
    submission_canceled = "submission.canceled"
    run_succeeded = "run.succeeded"
    run_failed = "run.failed"


def _distinct(events: list[WebhookEvent]) -> list[WebhookEvent]:
    # order kept, repeats dropped: subscribing twice to one event still delivers it once
    return list(dict.fromkeys(events))


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    Field(description="Where events are POSTed. In production: https, resolving to public addresses only"),
]
Events = Annotated[
    list[WebhookEvent],
    Field(min_length=1, max_length=len(WebhookEvent), description="The event types to deliver"),
    AfterValidator(_distinct),
]


class Webhook(Timestamped):
    """A subscription; its secret is never part of it."""

    org_id: uuid.UUID
    company_id: uuid.UUID | None = Field(description="Only this company's events; null for every company of the org")
    url: str
    events: list[WebhookEvent]
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation, until when the previous secret still signs too"
    )


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret (whsec_ + base64). Shown only in this response; store it now.")


class WebhookSecret(Schema):
    webhook_id: uuid.UUID
    secret: str = Field(description="The new signing secret. Shown only in this response.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then every delivery carries a signature with the previous secret too"
    )


class WebhookCreateRequest(RequestSchema):
    url: WebhookUrl
    events: Events
    company_id: uuid.UUID | None = None


class WebhookListRequest(ListRequest):
    pass


class WebhookRef(RequestSchema):
    webhook_id: uuid.UUID


class WebhookDeliveriesRequest(ListRequest):
    webhook_id: uuid.UUID


class WebhookDeleted(Schema):
    webhook_id: uuid.UUID
    deleted: bool = True


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class WebhookAttempt(Schema):
    """One HTTP attempt of one delivery (one event to one webhook)."""

    id: uuid.UUID
    delivery_id: uuid.UUID = Field(description="Also the webhook-id header, the same on every retry")
    webhook_id: uuid.UUID
    event_type: WebhookEvent
    attempt: int = Field(description="1 for the first attempt of the delivery")
    status_code: int | None = Field(description="The receiver's HTTP status; null when no answer came")
    error: str | None = Field(description="Why the attempt failed without a usable answer (timeout, refused, …)")
    duration_ms: int
    at: datetime
    next_attempt_at: datetime | None = Field(
        description="When the delivery is retried; null once delivered or given up"
    )
    delivery_status: DeliveryStatus = Field(description="The delivery's status now")
