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

How a key is handled — exactly once, whatever fails:
- The first request inserts the key's row (no answer yet) in its own committed transaction, then runs
  the operation in ONE transaction that holds that row's lock and, before committing, stores the answer
  in it. The effect and the stored answer therefore commit together or not at all: a retry either
  replays the answer (with `Idempotent-Replayed: true`) or runs the operation — never twice.
- A concurrent duplicate finds the row locked (`FOR UPDATE NOWAIT`) → 409 `IDEMPOTENCY_KEY_IN_USE`.
  A row with no answer and no lock belongs to a request that failed or died (its transaction rolled
  back, the database released its lock): the next request with the key takes it over at once. (SQLite
  has no row locks; its IMMEDIATE transactions make a duplicate wait for the first one instead.)
- The same key with another method, path or body than a stored answer → 422 `IDEMPOTENCY_KEY_REUSED`.
- Not stored (the row is deleted in the same transaction, so the client can fix the request and retry
  with the same key): failures of request validation (400 VALIDATION_ERROR / INVALID_REQUEST /
  INVALID_STATUS) and 404 (nothing was executed). Unexpected errors roll everything back. Business
  outcomes — success and rule refusals such as 409 or 400 INVALID_REFUND_AMOUNT — are stored.
- Rows older than `TTL` are ignored (the key counts as new) and removed by `manage.py prune_idempotency`.
- Work scheduled with `transaction.on_commit` (refund tasks, webhook dispatch) runs after the answer is
  stored; those hooks are `robust`, and the sweeps recover what they failed to queue.
"""

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, OperationalError, transaction
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
TTL = IdempotencyRecord.LIFETIME
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


class _RowVanished(Exception):
    """The key's row was removed between insert and lock (pruned, or released by a failed request)."""


def _insert_row(request: HttpRequest, store_id, key: str, fingerprint: str) -> None:
    """Make sure the key has a row, committed before the operation starts (a savepoint when the caller
    is already in a transaction), so that a concurrent duplicate has a row to find locked."""
    with contextlib.suppress(IntegrityError), transaction.atomic():
        IdempotencyRecord.objects.create(
            store_id=store_id,
            key=key,
            method=request.method or "",
            path=request.path[:500],
            request_fingerprint=fingerprint,
        )


def _is_lock_conflict(exc: OperationalError) -> bool:
    """PostgreSQL's lock_not_available (55P03) for NOWAIT, or SQLite's "database is locked"."""
    return getattr(exc.__cause__, "sqlstate", None) == "55P03" or "database is locked" in str(exc)


def _lock_row(store_id, key: str) -> IdempotencyRecord:
    try:
        record = (
            IdempotencyRecord.objects.select_for_update(nowait=True)
            .filter(store_id=store_id, key=key)
            .first()
        )
    except OperationalError as exc:
        if not _is_lock_conflict(exc):
            raise  # a lost connection is not a running request (the API answers 503)
        # PostgreSQL: the row is locked by the request that is running it now (SQLite: the database
        # stayed locked past its timeout). Either way the first request is still at work.
        raise errors.IdempotencyKeyInUse() from None
    if record is None:
        raise _RowVanished
    return record


def _take_over(record: IdempotencyRecord, request: HttpRequest, fingerprint: str) -> None:
    """The row holds no live answer: make it this request's claim (fresh lifetime, this request)."""
    record.method = request.method or ""
    record.path = request.path[:500]
    record.request_fingerprint = fingerprint
    record.response_status = None
    record.response_body = None
    record.response_headers = {}
    record.created_at = timezone.now()
    record.save()


def _run_once(view: Callable, request: HttpRequest, args, kwargs, *, store_id, key: str) -> HttpResponse:
    fingerprint = request_fingerprint(request)
    for _ in range(3):
        _insert_row(request, store_id, key, fingerprint)
        try:
            with transaction.atomic():
                record = _lock_row(store_id, key)
                live = record.created_at >= timezone.now() - TTL
                if live and record.response_status is not None:
                    if record.request_fingerprint != fingerprint:
                        raise errors.IdempotencyKeyReused(
                            f"The Idempotency-Key '{key}' was used for a different request ({record.method} "
                            f"{record.path} with another body). Use a new key for a new request."
                        )
                    return _replay(record)
                # No live answer: a new key, an expired one, or the claim of a request that failed or died.
                if not (
                    live and record.request_fingerprint == fingerprint and record.response_status is None
                ):
                    _take_over(record, request, fingerprint)
                response = _run(view, request, args, kwargs)
                if _is_stored(response):
                    record.response_status = response.status_code
                    record.response_body = response.content
                    record.response_headers = {
                        name: response[name] for name in STORED_HEADERS if response.has_header(name)
                    }
                    record.save(update_fields=["response_status", "response_body", "response_headers"])
                else:
                    record.delete()
                return response
        except _RowVanished:
            continue
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
        return _run_once(view, request, args, kwargs, store_id=store_id, key=key)

    return wrapper


def _run(view: Callable, request: HttpRequest, args, kwargs) -> HttpResponse:
    try:
        return _render(view(request, *args, **kwargs))
    except errors.ApiError as exc:
        return api_error_response(exc)
