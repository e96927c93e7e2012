"""Webhook endpoints and their deliveries: services (writes) and selectors (store-scoped reads).

An endpoint or delivery of another store is indistinguishable from a missing one (404
WEBHOOK_NOT_FOUND). Secrets are encrypted at rest (secretbox) and returned only by the service
that made them (create, rotate); nothing here logs them.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone

import secretbox
from orders import errors
from orders.actors import Actor
from orders.errors import FieldError
from orders.models import HistoryEntry, Store, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from orders.webhooks import events
from orders.webhooks.delivery import attempt_delivery, cancel_pending, enqueue_delivery
from orders.webhooks.outbox import record_event
from orders.webhooks.sending import SendResult
from orders.webhooks.signing import generate_secret
from orders.webhooks.targets import UnsafeTarget, check_url

Status = WebhookDelivery.Status


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once


# ---- validation -------------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = url.strip()
    try:
        check_url(url)
    except UnsafeTarget as exc:
        raise errors.ValidationFailed(f"Invalid url: {exc}", errors=[FieldError("url", str(exc))]) from exc
    return url


def _clean_event_types(event_types: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in event_types))
    unknown = [t for t in cleaned if not events.is_known(t)]
    if not cleaned or unknown:
        what = (
            f"Unknown event types: {', '.join(unknown)}." if unknown else "Subscribe to at least one event."
        )
        raise errors.InvalidEventType(
            f"{what} Allowed: {', '.join(events.REGISTRY)}.",
            errors=[FieldError("eventTypes", what)],
        )
    return cleaned


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise errors.WebhookNotFound() from None


# ---- selectors --------------------------------------------------------------------------------------


def endpoint_get(*, store: Store, endpoint_id: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(store=store, id=_parse_id(endpoint_id)).first()
    if endpoint is None:
        raise errors.WebhookNotFound()
    return endpoint


def endpoint_list(*, store: Store) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(store=store).order_by("created_at", "id"))


def endpoint_statistics(*, endpoint: WebhookEndpoint) -> dict:
    counts = WebhookDelivery.objects.filter(endpoint=endpoint).aggregate(
        total=Count("id"),
        last_delivery_at=Max("updated_at", filter=~Q(attempt_count=0)),
        **{s.value: Count("id", filter=Q(status=s.value)) for s in Status},
    )
    finished = counts[Status.SUCCEEDED] + counts[Status.FAILED]
    return {
        "total": counts["total"],
        "pending": counts[Status.PENDING],
        "succeeded": counts[Status.SUCCEEDED],
        "failed": counts[Status.FAILED],
        "cancelled": counts[Status.CANCELLED],
        # Of the deliveries that reached an outcome; None until one did.
        "successRate": round(counts[Status.SUCCEEDED] / finished, 4) if finished else None,
        "lastDeliveryAt": counts["last_delivery_at"],
    }


def _with_attempts(qs: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    return qs.select_related("event").prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("attempt_number"))
    )


def delivery_list(
    *, endpoint: WebhookEndpoint, limit: int, offset: int, status: str | None = None
) -> tuple[list[WebhookDelivery], int]:
    """Newest first, each with its attempts (one query for the page, one for all their attempts)."""
    qs = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        qs = qs.filter(status=status)
    total = qs.count()
    page = list(_with_attempts(qs.order_by("-created_at", "-id"))[offset : offset + limit])
    return page, total


def delivery_get(*, store: Store, delivery_id: str) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(id=_parse_id(delivery_id), endpoint__store=store)
        .first()
    )
    if delivery is None:
        raise errors.WebhookNotFound("Webhook delivery not found.")
    return delivery


def delivery_get_with_attempts(*, delivery_id) -> WebhookDelivery:
    return _with_attempts(WebhookDelivery.objects.filter(id=delivery_id)).get()


# ---- services ---------------------------------------------------------------------------------------


def endpoint_create(
    *, store: Store, url: str, event_types: list[str], description: str = "", enabled: bool = True
) -> EndpointWithSecret:
    """Register an endpoint; at most settings.WEBHOOKS_MAX_PER_STORE per store (checked under the
    store's row lock, so concurrent creates cannot pass it). Returns the secret, which is shown once."""
    url = _clean_url(url)
    event_types = _clean_event_types(event_types)
    secret = generate_secret()
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()
        limit = settings.WEBHOOKS_MAX_PER_STORE
        if WebhookEndpoint.objects.filter(store=store).count() >= limit:
            raise errors.ValidationFailed(
                f"A store can have at most {limit} webhook endpoints; delete one first.",
                errors=[FieldError("url", f"Limit of {limit} endpoints per store reached.")],
            )
        endpoint = WebhookEndpoint.objects.create(
            store=store,
            url=url,
            event_types=event_types,
            description=description,
            enabled=enabled,
            secret_encrypted=secretbox.encrypt(secret, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE),
        )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    actor: Actor | None = None,
) -> WebhookEndpoint:
    """Partial update. Disabling cancels the endpoint's pending deliveries (they can be retried by hand)
    and records who disabled it (`actor`: a person acting through a key, or the key); enabling clears
    the reason it was disabled."""
    if url is not None:
        endpoint.url = _clean_url(url)
    if event_types is not None:
        endpoint.event_types = _clean_event_types(event_types)
    if description is not None:
        endpoint.description = description
    with transaction.atomic():
        if enabled is not None and enabled != endpoint.enabled:
            endpoint.enabled = enabled
            endpoint.disabled_reason = "" if enabled else _disabled_by(actor)
            if not enabled:
                cancel_pending(endpoint_id=endpoint.id, reason="Endpoint disabled.")
        endpoint.save()
    return endpoint


def _disabled_by(actor: Actor | None) -> str:
    when = f"{timezone.now():%Y-%m-%d %H:%M} UTC"
    if actor is None:
        return f"Disabled through the API on {when}."
    # Names are at most 150 characters (X-On-Behalf-Of) or 100 (key names): the reason fits its 200.
    if actor.type == HistoryEntry.ActorType.USER:
        return f"Disabled by {actor.name} on {when}."
    return f"Disabled with the API key “{actor.name}” on {when}."


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Its deliveries and attempts go with it (cascade): nothing pending is sent afterwards, and a send
    already in flight records nothing (its guarded update finds no row)."""
    endpoint.delete()


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> EndpointWithSecret:
    """A new secret, effective for the next send; the old one signs nothing any more."""
    secret = generate_secret()
    endpoint.secret_encrypted = secretbox.encrypt(secret, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)
    endpoint.save(update_fields=["secret_encrypted", "updated_at"])
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


@dataclass(frozen=True)
class TestSendResult:
    delivery: WebhookDelivery
    result: SendResult


def endpoint_send_test(*, endpoint: WebhookEndpoint) -> TestSendResult:
    """Send a signed `webhook.test` now, in the request, and record it as a delivery of this endpoint
    (also when the endpoint is disabled or not subscribed to `webhook.test`). Not retried."""
    try:
        secretbox.decrypt(endpoint.secret_encrypted, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)
    except secretbox.SecretBoxError:
        # Its key was dropped from FIELD_ENCRYPTION_KEYS: the caller can repair it, so say how (a 4xx,
        # not the 500 that an unsendable delivery would otherwise end in).
        raise errors.ValidationFailed(
            "The endpoint's signing secret can no longer be decrypted by this server; rotate it "
            "(POST /api/v1/webhooks/{id}/rotate-secret), update your receiver, then send the test again.",
            errors=[FieldError("secret", "Cannot be decrypted; rotate the secret.")],
        ) from None
    with transaction.atomic():
        event = record_event(
            order=None,
            store_id=endpoint.store_id,
            event_type=events.TEST_EVENT,
            data={
                "storeId": str(endpoint.store_id),
                "webhookId": str(endpoint.id),
                "occurredAt": timezone.now(),
                "message": "This is a test event sent from the Orders API.",
            },
            endpoints=[endpoint],
            dispatch=False,
        )
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    result = attempt_delivery(delivery.id, include_disabled=True, retry=False)
    if result is None:  # cannot happen for a fresh, due delivery; keep the API honest if it does
        raise errors.InternalError("The test delivery could not be started.")
    return TestSendResult(delivery=delivery, result=result)


def delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send again from the start of the retry schedule: pending, due now, enqueued after commit (with
    delivery tasks; otherwise the batch sender claims it from the outbox: delivery.enqueue_delivery)."""
    if not delivery.endpoint.enabled:
        raise errors.ValidationFailed(
            "The endpoint is disabled; enable it (PUT enabled=true) before retrying its deliveries.",
            errors=[FieldError("enabled", "The endpoint is disabled.")],
        )
    with transaction.atomic():
        now = timezone.now()
        WebhookDelivery.objects.filter(id=delivery.id).update(
            status=Status.PENDING,
            attempt_count=0,
            next_attempt_at=now,
            completed_at=None,
            updated_at=now,
        )
        transaction.on_commit(lambda: enqueue_delivery(delivery.id), robust=True)
    return delivery_get_with_attempts(delivery_id=delivery.id)
