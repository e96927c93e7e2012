"""`Idempotency-Key` for the API's writes (spec §2): the first response is stored per store and key for
24 h and replayed to a retry with the same request.

Use it directly under the router decorator of a write operation:

    @router.post("/things", response={201: ThingOut, 409: ErrorEnvelope, 422: ErrorEnvelope})
    @idempotent
    def create_thing(request, payload: ThingIn):
        ...
        return 201, ok(data)        # or a dict (200), or an HttpResponse (kept as is, e.g. 204)

The wrapped operation always answers with an `HttpResponse` (rendered by `orders.encoding.dumps`), so the
stored bytes are exactly what the first caller got. Without the header nothing is stored.

How a key is handled:
- The first request inserts an in-flight row (no response yet) in its own committed transaction, so a
  concurrent duplicate sees it at once → 409 `IDEMPOTENCY_KEY_IN_USE`.
- When the operation finishes, its status, body and the headers in `STORED_HEADERS` are saved; a retry
  with the same method, path and JSON body gets them back with `Idempotent-Replayed: true`.
- The same key with another method, path or body → 422 `IDEMPOTENCY_KEY_REUSED`.
- Not stored (the row is deleted, so the client can fix the request and retry with the same key): failures
  of request validation (400 VALIDATION_ERROR / INVALID_REQUEST / INVALID_STATUS), 404 (nothing was
  executed), and unexpected errors (the operation's transaction rolled back, so a retry is safe).
  Business outcomes — success and rule refusals such as 409 or 400 INVALID_REFUND_AMOUNT — are stored.
- Rows older than `TTL` are ignored (the key counts as new) and removed by `manage.py prune_idempotency`.
"""

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from orders import errors
from orders.encoding import dumps
from orders.errors import FieldError
from orders.middleware import api_error_response
from orders.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
TTL = timedelta(hours=24)
# A claim whose request never finished (its process died) is abandoned after this: no request lives
# that long (gunicorn's worker timeout is 120 s), so a retry may then run instead of getting 409 for 24 h.
IN_FLIGHT_LEASE = timedelta(minutes=5)
STORED_HEADERS = ("Content-Type", "Location", REPLAYED_HEADER)
# Error codes that mean "the request itself was invalid": nothing ran, the client may fix it and retry.
NOT_STORED_CODES = frozenset({"VALIDATION_ERROR", "INVALID_REQUEST", "INVALID_STATUS"})


def request_fingerprint(request: HttpRequest) -> str:
    """SHA-256 of method, path and body; a JSON body is normalised (key order, whitespace)."""
    body = request.body
    with contextlib.suppress(ValueError):  # not JSON: compare the raw bytes
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in ((request.method or "").encode(), request.path.encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _render(result) -> HttpResponse:
    if isinstance(result, HttpResponse):
        return result
    status, data = result if isinstance(result, tuple) else (200, result)
    return HttpResponse(dumps(data), status=status, content_type="application/json")


def _is_stored(response: HttpResponse) -> bool:
    if response.status_code >= 500 or response.status_code == 404:
        return False
    if response.status_code == 400:
        try:
            code = json.loads(response.content).get("errorCode")
        except (ValueError, AttributeError):
            return True
        return code not in NOT_STORED_CODES
    return True


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body or b""), status=record.response_status or 200)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _claim(request: HttpRequest, store_id, key: str, fingerprint: str) -> IdempotencyRecord | HttpResponse:
    """Insert the in-flight row, or answer from the row another request made (replay, 409 or 422)."""
    for _ in range(2):
        try:
            # Its own transaction (a savepoint if the caller is already in one): committed before the
            # operation starts, so a concurrent duplicate finds it.
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    store_id=store_id,
                    key=key,
                    method=request.method or "",
                    path=request.path[:500],
                    request_fingerprint=fingerprint,
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(store_id=store_id, key=key).first()
        if existing is None:
            continue  # removed in between (pruned or a failed first request): try to claim again
        if existing.created_at < timezone.now() - TTL:
            # Expired: the key counts as new. Delete only that old row (a concurrent retry may have
            # already replaced it) and claim again.
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_fingerprint != fingerprint:
            raise errors.IdempotencyKeyReused(
                f"The Idempotency-Key '{key}' was used for a different request ({existing.method} "
                f"{existing.path} with another body). Use a new key for a new request."
            )
        if existing.response_status is None:
            if existing.created_at < timezone.now() - IN_FLIGHT_LEASE:
                IdempotencyRecord.objects.filter(pk=existing.pk, response_status=None).delete()
                continue
            raise errors.IdempotencyKeyInUse()
        return _replay(existing)
    raise errors.IdempotencyKeyInUse()


def idempotent(view: Callable) -> Callable:
    """Make a write operation honour `Idempotency-Key` (see the module docstring)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return _run(view, request, args, kwargs)
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise errors.ValidationFailed(
                f"The {HEADER} header must be 1–{MAX_KEY_LENGTH} characters.",
                errors=[FieldError(HEADER, f"Use 1–{MAX_KEY_LENGTH} characters, e.g. a UUID.")],
            )
        store_id = request.auth.store_id  # type: ignore[attr-defined]
        claimed = _claim(request, store_id, key, request_fingerprint(request))
        if isinstance(claimed, HttpResponse):
            return claimed
        record = claimed
        try:
            response = _run(view, request, args, kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if not _is_stored(response):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            response_status=response.status_code,
            response_body=response.content,
            response_headers={name: response[name] for name in STORED_HEADERS if response.has_header(name)},
        )
        return response

    return wrapper


def _run(view: Callable, request: HttpRequest, args, kwargs) -> HttpResponse:
    try:
        return _render(view(request, *args, **kwargs))
    except errors.ApiError as exc:
        return api_error_response(exc)


def prune(*, older_than: timedelta = TTL) -> int:
    """Delete records past their lifetime; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
