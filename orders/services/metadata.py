"""Metadata (spec §3.10) and linking to a platform order (§3.9)."""

import math
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import errors
from orders.actors import Actor
from orders.errors import FieldError
from orders.models import HistoryEntry, Order, Store
from orders.numbers import INTEGER_HELP, MAX_JSON_INTEGER, NOT_FINITE_HELP, NUMBER_HELP, integer_in_range
from orders.services.common import lock_order, record_history
from orders.webhooks import outbox

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_STRING = 500


def validate_metadata(patch: Any, *, field: str = "metadata") -> dict:
    """Check a metadata object against spec §3.10 and return it with numbers made JSON-storable.

    Keys: 1–40 characters. Values: a string of ≤500 characters, a number within ±2**53, a boolean, or
    null (null removes the key when merged). The ≤50-keys limit applies to
    the merged result (`merge_metadata`).
    """
    if not isinstance(patch, dict):
        raise errors.ValidationFailed(errors=[FieldError(field, "Must be an object of key/value pairs.")])
    problems: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key, value in patch.items():
        where = f"{field}.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
            problems.append(FieldError(where, f"Keys must be 1–{MAX_METADATA_KEY_LENGTH} characters."))
            continue
        if value is None or isinstance(value, bool):
            clean[key] = value
        elif isinstance(value, str):
            if len(value) > MAX_METADATA_STRING:
                problems.append(
                    FieldError(where, f"Strings may be at most {MAX_METADATA_STRING} characters.")
                )
            clean[key] = value
        elif isinstance(value, int | float | Decimal):
            number, problem = _json_number(value)
            if problem:
                problems.append(FieldError(where, problem))
                continue
            clean[key] = number
        else:
            problems.append(FieldError(where, "Values must be a string, number, boolean or null."))
    if len(patch) > MAX_METADATA_KEYS:
        problems.append(FieldError(field, f"At most {MAX_METADATA_KEYS} keys."))
    if problems:
        raise errors.ValidationFailed(
            f"Invalid metadata: {', '.join(p.field for p in problems)}.", errors=problems
        )
    return clean


def _json_number(value: int | float | Decimal) -> tuple[int | float, str | None]:
    """The number as stored (an int, or a float), or the reason it cannot be stored.

    Numbers beyond ±2**53 are refused: orjson cannot write integers beyond 64 bits (every later read of
    the order would fail), JavaScript clients read them wrongly, and PostgreSQL's jsonb turns a large
    fraction such as 1e20 into an integer. A Decimal (the API parses JSON fractions as Decimal) is kept
    as an int when it is a whole number (`2.0`), else as a float.
    """
    if isinstance(value, int):
        return value, None if integer_in_range(value) else INTEGER_HELP
    if isinstance(value, Decimal) and not value.is_finite():
        return 0, NOT_FINITE_HELP
    number = float(value)
    if not math.isfinite(number):
        return number, NOT_FINITE_HELP
    if abs(number) > MAX_JSON_INTEGER:
        return number, NUMBER_HELP
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value), None
    return number, None


def merge_metadata(current: dict, patch: dict, *, field: str = "metadata") -> dict:
    """`current` with `patch` merged in; a key set to null is removed. The result keeps ≤50 keys."""
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_METADATA_KEYS:
        raise errors.ValidationFailed(
            f"An order holds at most {MAX_METADATA_KEYS} metadata keys.",
            errors=[
                FieldError(
                    field, f"The merged metadata would have {len(merged)} keys; at most {MAX_METADATA_KEYS}."
                )
            ],
        )
    return merged


def order_link(*, order_id, store: Store, external_order_id: str, platform_name: str, actor: Actor) -> Order:
    """Set the order's external ID and platform once. The same pair again is a no-op.

    Locks the order row. Raises OrderAlreadyLinked, ExternalIdExists, ValidationFailed, OrderNotFound.
    """
    external_order_id = (external_order_id or "").strip()
    platform_name = (platform_name or "").strip()
    problems = []
    if not 1 <= len(external_order_id) <= 255:
        problems.append(FieldError("externalOrderId", "Give the platform's order ID (1–255 characters)."))
    if not 1 <= len(platform_name) <= 100:
        problems.append(FieldError("platformName", "Give the platform's name (1–100 characters)."))
    if problems:
        raise errors.ValidationFailed(errors=problems)
    with transaction.atomic():
        order = lock_order(order_id=order_id, store=store)
        if order.external_id == external_order_id and order.platform_name == platform_name:
            return order
        if order.external_id:
            raise errors.OrderAlreadyLinked(
                f"Order {order.display_number} is already linked to {order.platform_name or 'a platform'} "
                f"order '{order.external_id}'."
            )
        if Order.objects.filter(store=store, external_id=external_order_id).exists():
            raise errors.ExternalIdExists(
                f"The external ID '{external_order_id}' already belongs to another order of this store."
            )
        order.external_id = external_order_id
        order.platform_name = platform_name
        order.updated_at = timezone.now()
        try:
            # A concurrent link of another order to the same ID passes the check above; the partial unique
            # constraint stops it here (savepoint, so the outer transaction stays usable).
            with transaction.atomic():
                order.save(update_fields=["external_id", "platform_name", "updated_at"])
        except IntegrityError:
            raise errors.ExternalIdExists(
                f"The external ID '{external_order_id}' already belongs to another order of this store."
            ) from None
        record_history(
            order,
            kind=HistoryEntry.Kind.LINK,
            from_status=order.status,
            actor=actor,
            metadata={"externalOrderId": external_order_id, "platformName": platform_name},
        )
        outbox.record_order_events(order=order, change="link", actor=actor, previous_status=order.status)
    return order


def order_update_metadata(*, order_id, store: Store, metadata: dict, actor: Actor) -> Order:
    """Merge `metadata` into the order's (null removes a key). Locks the order row."""
    patch = validate_metadata(metadata)
    with transaction.atomic():
        order = lock_order(order_id=order_id, store=store)
        order.metadata = merge_metadata(order.metadata, patch)
        order.updated_at = timezone.now()
        order.save(update_fields=["metadata", "updated_at"])
        record_history(
            order, kind=HistoryEntry.Kind.METADATA, from_status=order.status, actor=actor, metadata=patch
        )
        outbox.record_order_events(order=order, change="metadata", actor=actor, previous_status=order.status)
    return order
