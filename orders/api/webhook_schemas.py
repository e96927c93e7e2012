"""The webhook endpoints' request and response shapes, documented for OpenAPI (the operations are in
webhooks.py). Event type names are the registry's (orders/webhooks/events.py), read at import."""

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic.config import JsonDict

from orders.api.common import CamelSchema
from orders.api.openapi import DeliveryStatus, EventTypeName, envelope
from orders.webhooks import events

EVENT_TYPES_HELP = (
    "Non-empty subset of the event types that `GET /webhooks/event-types` lists: "
    + ", ".join(f"`{t}`" for t in events.REGISTRY)
    + "."
)
# The request fields' items documented as the catalogue's names (validation stays in the service, which
# answers INVALID_EVENT_TYPE naming the unknown ones).
EVENT_TYPES_SCHEMA: JsonDict = {"items": {"type": "string", "enum": list(events.REGISTRY)}, "minItems": 1}
# ---- schemas ----------------------------------------------------------------------------------------


class WebhookCreateIn(CamelSchema):
    url: str = Field(..., max_length=2000, description="https URL, publicly routable.")
    event_types: list[str] = Field(..., description=EVENT_TYPES_HELP, json_schema_extra=EVENT_TYPES_SCHEMA)
    description: str = Field("", max_length=500)
    enabled: bool = True


class WebhookUpdateIn(CamelSchema):
    url: str | None = Field(None, max_length=2000)
    event_types: list[str] | None = Field(
        None, description=EVENT_TYPES_HELP, json_schema_extra=EVENT_TYPES_SCHEMA
    )
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = None


class DeliveryListQuery(Schema):
    limit: int = Field(20, ge=1, le=50)
    offset: int = Field(0, ge=0, le=1_000_000_000)
    status: Literal["pending", "succeeded", "failed", "cancelled"] | None = None


class WebhookOut(Schema):
    id: uuid.UUID
    url: str
    eventTypes: list[EventTypeName]
    description: str
    enabled: bool
    disabledReason: str | None
    createdAt: datetime
    updatedAt: datetime


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(..., description="`whsec_…`; shown only in this response. Store it now.")


class AttemptOut(Schema):
    attemptNumber: int
    attemptedAt: datetime
    statusCode: int | None
    durationMs: int
    responseBody: str | None = Field(None, description="First 500 characters of the response.")
    error: str | None


class DeliveryOut(Schema):
    id: uuid.UUID
    webhookId: uuid.UUID
    eventId: str
    eventType: EventTypeName
    status: DeliveryStatus
    attemptCount: int
    nextAttemptAt: datetime | None
    lastStatusCode: int | None
    lastError: str | None
    createdAt: datetime
    completedAt: datetime | None
    payload: dict[str, Any]
    attempts: list[AttemptOut]


class StatisticsOut(Schema):
    total: int
    pending: int
    succeeded: int
    failed: int
    cancelled: int
    successRate: float | None = Field(None, description="succeeded / (succeeded + failed).")
    lastDeliveryAt: datetime | None


class WebhookDetailOut(WebhookOut):
    statistics: StatisticsOut
    recentDeliveries: list[DeliveryOut] = Field(..., description="The 10 most recent.")


class DeliveryListOut(Schema):
    deliveries: list[DeliveryOut]
    total: int
    limit: int
    offset: int
    hasMore: bool


class EventTypeOut(Schema):
    name: EventTypeName = Field(..., description="What endpoints subscribe to, e.g. `order.shipped`.")
    description: str


class EventTypeListOut(Schema):
    eventTypes: list[EventTypeOut] = Field(..., description="The catalogue, in a stable order.")


class TestResultOut(Schema):
    success: bool
    statusCode: int | None
    durationMs: int
    error: str | None
    responseBody: str | None
    deliveryId: uuid.UUID
    eventId: str


WebhookListEnvelope = envelope("WebhookListEnvelope", list[WebhookOut])
WebhookDetailEnvelope = envelope("WebhookDetailEnvelope", WebhookDetailOut)
WebhookEnvelope = envelope("WebhookEnvelope", WebhookOut)
WebhookWithSecretEnvelope = envelope("WebhookWithSecretEnvelope", WebhookWithSecretOut)
DeliveryListEnvelope = envelope("DeliveryListEnvelope", DeliveryListOut)
DeliveryEnvelope = envelope("DeliveryEnvelope", DeliveryOut)
TestResultEnvelope = envelope("TestResultEnvelope", TestResultOut)
EventTypeListEnvelope = envelope("EventTypeListEnvelope", EventTypeListOut)
