"""The Orders API (spec/orders-api.md): one NinjaAPI, a router per resource, one error mapping."""

import functools
import logging
from decimal import Decimal

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.security import APIKeyHeader

from orders import errors, money, ratelimit
from orders.auth import api_key_authenticate
from orders.encoding import dumps
from orders.middleware import (
    API_KEY_CHECKED,
    MAX_JSON_DEPTH,
    RATE_LIMIT_PENDING,
    api_error_response,
    error_response,
    register_unrouted_key_counter,
)
from orders.models import ApiKey
from orders.ratelimit import OPENAPI_NOTE as RATE_LIMIT_NOTE
from orders.ratelimit import enforce as enforce_rate_limit

logger = logging.getLogger("orders.api")

# Errors that mean "the database is not there right now", answered 503 with Retry-After (spec §7).
DatabaseUnavailable = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 2


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return dumps(data)


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON number")


class DecimalJsonParser(Parser):
    """Parse JSON numbers as Decimal so money never passes through float. NaN and Infinity, which
    Python's reader would take, are not JSON (the middleware names the field before this runs)."""

    def parse_body(self, request: HttpRequest):
        import json

        return json.loads(request.body, parse_float=Decimal, parse_constant=_not_json)


class PrivateApiKey(APIKeyHeader):
    """`X-API-Key`: a private key of the store. Public keys are refused with 403 (spec §2)."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey:
        setattr(request, API_KEY_CHECKED, True)  # counted here, not again by the middleware
        api_key = api_key_authenticate(key)
        if api_key is None:
            raise errors.InvalidApiKey()
        # Counted as soon as the key is known, so every later outcome (403, 404, …) is limited too: first,
        # or (a read of a key with room left) while the view runs, the verdict read by the middleware.
        verdict = ratelimit.count_during(api_key) if _counted_during(request) else None
        if verdict is None:
            enforce_rate_limit(request, api_key)
        else:
            setattr(request, RATE_LIMIT_PENDING, functools.partial(_finish_count, request, verdict))
        if api_key.kind == ApiKey.Kind.PUBLIC:
            raise errors.InsufficientPermissions()
        named_store = request.headers.get("X-Store-Id")
        if named_store and named_store != str(api_key.store_id):
            raise errors.NoStoreAccess()
        return api_key


def _counted_during(request: HttpRequest) -> bool:
    return settings.RATE_LIMIT_ENABLED and request.method in ("GET", "HEAD")


def _finish_count(request: HttpRequest, verdict) -> HttpResponse | None:
    """The verdict on a request counted while it ran: None to keep the view's answer, else the 429."""
    state = verdict()
    request.rate_limit = state  # type: ignore[attr-defined]
    return None if state.allowed else api_error_response(ratelimit.exceeded(state))


def count_unrouted_request(request: HttpRequest) -> HttpResponse | None:
    """Count a request with a valid key that the router answered without authenticating it (405, an
    unknown route, a body refused by the middleware), so it carries the rate-limit headers and uses
    quota like any other (spec §5). Over the limit, the 429 is the answer."""
    try:
        api_key = api_key_authenticate(request.headers.get("X-API-Key"))
        if api_key is not None:
            enforce_rate_limit(request, api_key)
    except errors.RateLimitExceeded as exc:
        return api_error_response(exc)
    except Exception:
        # Counting must not turn the answer already made (a 404, a 405) into a 500.
        logger.exception("Could not count %s %s against its API key", request.method, request.path)
    return None


register_unrouted_key_counter(count_unrouted_request)

INPUT_LIMITS_NOTE = (
    "\n\n**Limits on input** (each refused before anything is written): a body over "
    f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes (setting `DATA_UPLOAD_MAX_MEMORY_SIZE`) → 413 "
    "`PAYLOAD_TOO_LARGE`; a body that is not a JSON object, or nests arrays/objects more than "
    f"{MAX_JSON_DEPTH} levels deep → 400 `INVALID_REQUEST`; NUL characters or lone UTF-16 surrogates in "
    "any string, integers beyond ±2^53, NaN or Infinity → 400 `VALIDATION_ERROR` naming the field. Money: "
    f"at most {money.MAX_AMOUNT} and the currency's ISO 4217 decimals (JPY none, most currencies 2; "
    "amounts are stored with at most 2)."
)

api = NinjaAPI(
    title="Orders API",
    version="1.0.0",
    description=(
        "VesuvioPay-compatible Orders API. Authenticate with a private key in `X-API-Key`. Every response "
        "is an envelope: `{success, data}` or `{success: false, message, errorCode, errors?}`."
    )
    + RATE_LIMIT_NOTE
    + INPUT_LIMITS_NOTE,
    auth=PrivateApiKey(),
    renderer=OrjsonRenderer(),
    parser=DecimalJsonParser(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _field_path(loc: tuple | list) -> str:
    """("body", "payload", "items", 0, "quantity") → "items[0].quantity"; ("query", "limit") → "limit"."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "form"}:
        source = parts.pop(0)
        if source == "body" and parts and len(parts) > 1:
            parts.pop(0)  # the view's parameter name
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


@api.exception_handler(errors.ApiError)
def on_api_error(request: HttpRequest, exc: errors.ApiError) -> HttpResponse:
    return api_error_response(exc)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    field_errors = []
    for err in exc.errors:
        message = str(err.get("msg", "Invalid value."))
        message = message.removeprefix("Value error, ")
        field_errors.append({"field": _field_path(err.get("loc", ())), "message": message})
    named = ", ".join(dict.fromkeys(e["field"] for e in field_errors))
    return error_response(400, "VALIDATION_ERROR", f"Invalid value for: {named}.", errors=field_errors)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return on_api_error(request, errors.InvalidApiKey())


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        return on_api_error(request, errors.InvalidRequest("The request body is not valid JSON."))
    codes = {
        401: "INVALID_API_KEY",
        403: "INSUFFICIENT_PERMISSIONS",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
    }
    return error_response(exc.status_code, codes.get(exc.status_code, "INVALID_REQUEST"), str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return on_api_error(request, errors.NotFound())


@api.exception_handler(Exception)
def on_unhandled(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The detail goes to the log (with the request id), never to the client.
    logger.exception("Unhandled error in %s %s", request.method, request.path)
    if isinstance(exc, DatabaseUnavailable):
        # The database went away (restart, failover, a terminated connection): nothing was committed,
        # and the same request (with its Idempotency-Key) can be sent again shortly.
        response = on_api_error(
            request,
            errors.ServiceUnavailable("The database is unavailable; retry the request in a moment."),
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return on_api_error(request, errors.InternalError())


def _register_routers() -> None:
    from orders.api import customers, history, order_writes, orders, products, webhooks

    del order_writes  # its operations decorate orders.router

    api.add_router("/orders", orders.router)
    api.add_router("/history", history.router)
    api.add_router("/customers", customers.router)
    api.add_router("/sdk/products", products.router)
    api.add_router("/webhooks", webhooks.router)
    api.add_router("/sdk/stores/{store_id}/webhooks", webhooks.sdk_router)


_register_routers()
