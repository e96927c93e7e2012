"""Webhook endpoints (spec §4), served twice: under /webhooks and, for SDK compatibility, under
/sdk/stores/{storeId}/webhooks, where a storeId other than the key's store is 403 NO_STORE_ACCESS.

Each operation is written once and registered on both routers by `operation`.
"""

import inspect
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from orders import errors
from orders.api.common import actor_of, store_of
from orders.api.idempotency import idempotent
from orders.api.openapi import BODY_ERROR_CODES, documented, respond
from orders.api.webhook_schemas import (
    DeliveryEnvelope,
    DeliveryListEnvelope,
    DeliveryListQuery,
    EventTypeListEnvelope,
    TestResultEnvelope,
    WebhookCreateIn,
    WebhookDetailEnvelope,
    WebhookEnvelope,
    WebhookListEnvelope,
    WebhookUpdateIn,
    WebhookWithSecretEnvelope,
)
from orders.models import WebhookDelivery, WebhookEndpoint
from orders.timestamps import iso
from orders.webhooks import endpoints as services
from orders.webhooks import events

router = Router(tags=["webhooks"])
sdk_router = Router(tags=["webhooks (SDK paths)"])

# Responses that carry a secret are not stored for Idempotency-Key replays: that would keep the secret
# in clear text for 24 h. A client unsure whether a create went through lists the endpoints.
NO_REPLAY = (
    "`Idempotency-Key` is not honoured here: the response holds the secret, which is never stored in "
    "clear; list the endpoints to see whether a create went through. "
)
# An Idempotency-Key over 255 characters is a 400 VALIDATION_ERROR.
REPLAY_CODES = ("VALIDATION_ERROR", "IDEMPOTENCY_KEY_IN_USE", "IDEMPOTENCY_KEY_REUSED")
SIGNATURE_HELP = (
    "Every delivery is a POST with `Content-Type: application/json`, `User-Agent: VesuvioPay-Webhooks/1.0`, "
    "`X-Webhook-Event: <type>`, `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed "
    "with the secret string>` and the Standard Webhooks headers `webhook-id` (the event id, stable across "
    "retries), `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body, "
    "keyed with the base64-decoded part after whsec_>` (verify with any `standardwebhooks` library). "
    "Non-2xx answers and timeouts (10 s) are retried with exponential backoff and jitter for about two "
    "days; 410 Gone disables the endpoint."
)


# ---- shaping ----------------------------------------------------------------------------------------


def endpoint_out(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict:
    data = {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason or None,
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


def delivery_out(delivery: WebhookDelivery) -> dict:
    return {
        "id": str(delivery.id),
        "webhookId": str(delivery.endpoint_id),
        "eventId": delivery.event_id,
        "eventType": delivery.event.type,
        "status": delivery.status,
        "attemptCount": delivery.attempt_count,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error or None,
        "createdAt": iso(delivery.created_at),
        "completedAt": iso(delivery.completed_at),
        "payload": delivery.event.payload,
        "attempts": [
            {
                "attemptNumber": a.attempt_number,
                "attemptedAt": iso(a.attempted_at),
                "statusCode": a.status_code,
                "durationMs": a.duration_ms,
                "responseBody": a.response_body or None,
                "error": a.error or None,
            }
            for a in delivery.attempts.all()
        ],
    }


# ---- registration on both path families -------------------------------------------------------------


def _require_store(request: HttpRequest, store_id: str) -> None:
    try:
        same = uuid.UUID(store_id) == store_of(request).id
    except ValueError:
        same = False
    if not same:
        raise errors.NoStoreAccess(f"This API key has no access to store {store_id}; use its own store id.")


def _sdk_view(func: Callable) -> Callable:
    """The same operation with a leading `store_id` path parameter that must name the key's store."""

    def view(request: HttpRequest, store_id: str, **kwargs):
        _require_store(request, store_id)
        return func(request, **kwargs)

    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    # The parameter sits in the router's mount path, so ninja must be told it is a path parameter.
    store_param = inspect.Parameter("store_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Path[str])
    params.insert(1, store_param)
    view.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    view.__name__ = f"sdk_{func.__name__}"
    view.__doc__ = func.__doc__
    return view


def operation(
    method: str, path: str, *, operation_id: str, summary: str, replayable: bool = False, **kwargs
) -> Callable:
    """Register the view on both routers; `replayable` honours `Idempotency-Key` (orders/api/idempotency.py)."""

    def register(func: Callable) -> Callable:
        view = idempotent(func) if replayable else func
        router.api_operation([method], path, operation_id=operation_id, summary=summary, **kwargs)(view)
        sdk_router.api_operation(
            [method], path, operation_id=f"sdk_{operation_id}", summary=f"{summary} (SDK path)", **kwargs
        )(_sdk_view(view))
        return func

    return register


# ---- operations -------------------------------------------------------------------------------------


@operation(
    "GET",
    "",
    operation_id="list_webhooks",
    summary="List webhook endpoints",
    **documented(200, WebhookListEnvelope),
)
def list_webhooks(request: HttpRequest) -> HttpResponse:
    endpoints = services.endpoint_list(store=store_of(request))
    return respond([endpoint_out(e) for e in endpoints])


@operation(
    "GET",
    "/event-types",
    operation_id="list_webhook_event_types",
    summary="The webhook event types an endpoint may subscribe to",
    **documented(200, EventTypeListEnvelope),
)
def list_webhook_event_types(request: HttpRequest) -> HttpResponse:
    return respond(
        {"eventTypes": [{"name": t.name, "description": t.description} for t in events.event_types()]}
    )


@operation(
    "POST",
    "",
    operation_id="create_webhook",
    summary="Register a webhook endpoint",
    description="At most 10 per store. The `secret` is in this response only. " + NO_REPLAY + SIGNATURE_HELP,
    **documented(201, WebhookWithSecretEnvelope, *BODY_ERROR_CODES, "INVALID_EVENT_TYPE"),
)
def create_webhook(request: HttpRequest, payload: WebhookCreateIn) -> HttpResponse:
    created = services.endpoint_create(
        store=store_of(request),
        url=payload.url,
        event_types=payload.event_types,
        description=payload.description,
        enabled=payload.enabled,
    )
    return respond(endpoint_out(created.endpoint, secret=created.secret), status=201)


@operation(
    "GET",
    "/{webhook_id}",
    operation_id="get_webhook",
    summary="A webhook endpoint with delivery statistics and its 10 most recent deliveries",
    **documented(200, WebhookDetailEnvelope, "WEBHOOK_NOT_FOUND"),
)
def get_webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(store=store_of(request), endpoint_id=webhook_id)
    recent, _ = services.delivery_list(endpoint=endpoint, limit=10, offset=0)
    statistics = services.endpoint_statistics(endpoint=endpoint)
    statistics["lastDeliveryAt"] = iso(statistics["lastDeliveryAt"])
    data = endpoint_out(endpoint) | {
        "statistics": statistics,
        "recentDeliveries": [delivery_out(d) for d in recent],
    }
    return respond(data)


@operation(
    "PUT",
    "/{webhook_id}",
    operation_id="update_webhook",
    replayable=True,
    summary="Update a webhook endpoint (only the fields sent)",
    description=(
        "Setting `enabled` to false cancels its pending deliveries and sets `disabledReason` to who disabled it "
        "(the `X-On-Behalf-Of` person, else the key) and when; true clears `disabledReason`."
    ),
    **documented(
        200,
        WebhookEnvelope,
        *BODY_ERROR_CODES,
        "INVALID_EVENT_TYPE",
        "WEBHOOK_NOT_FOUND",
        *REPLAY_CODES,
    ),
)
def update_webhook(request: HttpRequest, webhook_id: str, payload: WebhookUpdateIn) -> HttpResponse:
    endpoint = services.endpoint_get(store=store_of(request), endpoint_id=webhook_id)
    endpoint = services.endpoint_update(
        endpoint=endpoint,
        url=payload.url,
        event_types=payload.event_types,
        description=payload.description,
        enabled=payload.enabled,
        actor=actor_of(request),
    )
    return respond(endpoint_out(endpoint))


@operation(
    "DELETE",
    "/{webhook_id}",
    operation_id="delete_webhook",
    summary="Delete a webhook endpoint; its pending deliveries are not sent",
    **documented(204, None, "WEBHOOK_NOT_FOUND"),
)
def delete_webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(store=store_of(request), endpoint_id=webhook_id)
    services.endpoint_delete(endpoint=endpoint)
    return HttpResponse(status=204)


@operation(
    "POST",
    "/{webhook_id}/test",
    operation_id="test_webhook",
    replayable=True,
    summary="Send a signed webhook.test event now and report the receiver's answer",
    description=(
        "Synchronous: the answer says what the receiver returned (`success` is true for a 2xx). The "
        "send is recorded as a delivery of the endpoint and is not retried."
    ),
    **documented(200, TestResultEnvelope, "WEBHOOK_NOT_FOUND", *REPLAY_CODES),
)
def test_webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(store=store_of(request), endpoint_id=webhook_id)
    sent = services.endpoint_send_test(endpoint=endpoint)
    result = sent.result
    return respond(
        {
            "success": result.succeeded,
            "statusCode": result.status_code,
            "durationMs": result.duration_ms,
            "error": result.error or None,
            "responseBody": result.response_body or None,
            "deliveryId": str(sent.delivery.id),
            "eventId": sent.delivery.event_id,
        }
    )


@operation(
    "POST",
    "/{webhook_id}/rotate-secret",
    operation_id="rotate_webhook_secret",
    summary="Replace the signing secret; the old one stops working at once",
    description=NO_REPLAY.strip(),
    **documented(200, WebhookWithSecretEnvelope, "WEBHOOK_NOT_FOUND"),
)
def rotate_webhook_secret(request: HttpRequest, webhook_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(store=store_of(request), endpoint_id=webhook_id)
    rotated = services.endpoint_rotate_secret(endpoint=endpoint)
    return respond(endpoint_out(rotated.endpoint, secret=rotated.secret))


@operation(
    "GET",
    "/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    summary="Deliveries of an endpoint, newest first, each with its attempts",
    **documented(200, DeliveryListEnvelope, "VALIDATION_ERROR", "WEBHOOK_NOT_FOUND"),
)
def list_webhook_deliveries(
    request: HttpRequest, webhook_id: str, query: Query[DeliveryListQuery]
) -> HttpResponse:
    endpoint = services.endpoint_get(store=store_of(request), endpoint_id=webhook_id)
    page, total = services.delivery_list(
        endpoint=endpoint, limit=query.limit, offset=query.offset, status=query.status
    )
    return respond(
        {
            "deliveries": [delivery_out(d) for d in page],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
            "hasMore": query.offset + len(page) < total,
        }
    )


@operation(
    "POST",
    "/deliveries/{delivery_id}/retry",
    operation_id="retry_webhook_delivery",
    replayable=True,
    summary="Send a delivery again, from the start of the retry schedule",
    description="The delivery becomes `pending`, due now, and is handed to the worker.",
    **documented(200, DeliveryEnvelope, "VALIDATION_ERROR", "WEBHOOK_NOT_FOUND", *REPLAY_CODES),
)
def retry_webhook_delivery(request: HttpRequest, delivery_id: str) -> HttpResponse:
    delivery = services.delivery_get(store=store_of(request), delivery_id=delivery_id)
    delivery = services.delivery_retry(delivery=delivery)
    return respond(delivery_out(delivery))
