"""The Orders API (spec/orders-api.md): one NinjaAPI, a router per resource, one error mapping."""

import logging
from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.security import APIKeyHeader

from orders import errors
from orders.auth import api_key_authenticate
from orders.encoding import dumps
from orders.middleware import api_error_response, error_response
from orders.models import ApiKey
from orders.ratelimit import OPENAPI_NOTE as RATE_LIMIT_NOTE
from orders.ratelimit import enforce as enforce_rate_limit

logger = logging.getLogger("orders.api")


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return dumps(data)


class DecimalJsonParser(Parser):
    """Parse JSON numbers as Decimal so money never passes through float."""

    def parse_body(self, request: HttpRequest):
        import json

        return json.loads(request.body, parse_float=Decimal)


class PrivateApiKey(APIKeyHeader):
    """`X-API-Key`: a private key of the store. Public keys are refused with 403 (spec §2)."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey:
        api_key = api_key_authenticate(key)
        if api_key is None:
            raise errors.InvalidApiKey()
        # Counted as soon as the key is known, so every later outcome (403, 404, …) is limited too.
        enforce_rate_limit(request, api_key)
        if api_key.kind == ApiKey.Kind.PUBLIC:
            raise errors.InsufficientPermissions()
        named_store = request.headers.get("X-Store-Id")
        if named_store and named_store != str(api_key.store_id):
            raise errors.NoStoreAccess()
        return api_key


api = NinjaAPI(
    title="Orders API",
    version="1.0.0",
    description=(
        "VesuvioPay-compatible Orders API. Authenticate with a private key in `X-API-Key`. Every response "
        "is an envelope: `{success, data}` or `{success: false, message, errorCode, errors?}`."
    )
    + RATE_LIMIT_NOTE,
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
