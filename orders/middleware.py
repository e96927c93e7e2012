"""Request ids on every response, and the API's error envelope for responses Django makes itself."""

import contextvars
import json
import logging
import re
import uuid

import orjson
from django.http import HttpRequest, HttpResponse

from orders.errors import ApiError

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
API_PREFIX = "/api/"
# A JSON `\u0000` escape: an odd number of backslashes before `u0000` (an even number is a literal backslash).
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def error_response(status: int, error_code: str, message: str, **extra) -> HttpResponse:
    body = {"success": False, "message": message, "errorCode": error_code, **extra}
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def api_error_response(exc: ApiError) -> HttpResponse:
    """The envelope of a domain error (orders/errors.py): the one mapping from exception to answer."""
    extra = dict(exc.extra)
    if exc.errors:
        extra["errors"] = [{"field": e.field, "message": e.message} for e in exc.errors]
    return error_response(exc.status, exc.error_code, exc.message, **extra)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RequestIdMiddleware:
    """Echo the caller's X-Request-Id (when it is a sane token) or make one; log lines carry it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-Id"] = request_id
        return response


class RateLimitHeadersMiddleware:
    """Copy the rate-limit state the API's authentication left on the request (orders/ratelimit.py) into
    the response headers — on every response of an authenticated API request, errors included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state = getattr(request, "rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response


class ApiErrorEnvelopeMiddleware:
    """Under /api/, turn framework-made 404/405 responses (not JSON) into the spec's envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX) and (nul_fields := _json_fields_with_nul(request)):
            # PostgreSQL text cannot hold NUL: refuse it here, for every JSON body of the API, instead
            # of a 500 deep in a query. (Paths and query strings are checked where they are parsed.)
            message = "NUL characters (\\u0000) are not allowed."
            return error_response(
                400,
                "VALIDATION_ERROR",
                f"{message} Remove them from: {', '.join(nul_fields)}.",
                errors=[{"field": field, "message": message} for field in nul_fields],
            )
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            new = error_response(
                405,
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed here. Allowed: {allowed or 'none'}.",
            )
            if allowed:
                new["Allow"] = allowed
            return new
        if response.status_code == 404:
            return error_response(404, "NOT_FOUND", f"No API route matches {request.path}.")
        return response


def _json_fields_with_nul(request: HttpRequest) -> list[str]:
    """The paths (`items[0].name`) of the JSON body's strings and keys that hold a NUL character."""
    if not request.META.get("CONTENT_TYPE", "").startswith("application/json"):
        return []
    if _JSON_NUL_ESCAPE.search(request.body) is None:
        return []
    try:
        data = json.loads(request.body)
    except ValueError:
        return []  # malformed JSON gets its own answer from the API
    found: list[str] = []

    def walk(value, path: str) -> None:
        if isinstance(value, str) and "\x00" in value:
            found.append(path or "body")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    found.append(child)
                walk(item, child)

    walk(data, "")
    return found


def api_route_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    return error_response(404, "NOT_FOUND", f"No API route matches {request.path}. See /api/v1/docs.")
