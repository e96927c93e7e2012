"""Request ids on every response; under /api/, the checks every request body passes before anything
parses it (spec §7) and the error envelope for the answers Django or the router make themselves.

The body checks (`ApiErrorEnvelopeMiddleware`), in order, each answered in the envelope:
- size: over `settings.DATA_UPLOAD_MAX_MEMORY_SIZE` (2.5 MB) → 413 PAYLOAD_TOO_LARGE, from Content-Length
  before reading, or while reading when the length was absent or understated (a chunked body);
- nesting: more than MAX_JSON_DEPTH (32) levels of arrays/objects → 400 INVALID_REQUEST, counted on the
  raw bytes before any JSON parser (recursive ones) sees them;
- shape: a JSON body that is not an object → 400 INVALID_REQUEST (every body of this API is one);
- values: NUL characters and lone UTF-16 surrogates in any string or key (PostgreSQL text cannot hold
  them; UTF-8 cannot encode the surrogates), integers beyond ±2**53 and non-finite numbers (NaN,
  Infinity, 1e400) → 400 VALIDATION_ERROR naming every such field.
A body that is not JSON at all is left to the API, which answers 400 INVALID_REQUEST.
"""

import contextvars
import importlib
import json
import logging
import math
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from orders.errors import ApiError, PayloadTooLarge
from orders.numbers import INTEGER_HELP, NOT_FINITE_HELP, integer_in_range

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
API_PREFIX = "/api/"
# Deepest nesting of arrays and objects in a request body. This API's deepest body (a create's
# items[i]) is 3 levels; metadata values are flat.
MAX_JSON_DEPTH = 32
DEPTH_MESSAGE = (
    f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep (objects and arrays); flatten it."
)
NOT_AN_OBJECT = "The body must be a JSON object ({{...}}), not {what}."
NUL_HELP = "NUL characters (\\u0000) are not allowed."
SURROGATE_HELP = "Lone UTF-16 surrogates (\\ud800–\\udfff without their pair) are not allowed."
# A JSON string, or an unterminated one running to the end: every match ends at its closing quote or at
# the end of the body, so stripping strings is one linear pass whatever the quotes and backslashes.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")
# Set on the request by the API's authentication: the router has counted this request.
API_KEY_CHECKED = "api_key_checked"
# Set on the request by the API's authentication when the request is counted while it runs
# (orders/ratelimit.py, `count_during`): called once after the view, it returns the 429 answer or None.
RATE_LIMIT_PENDING = "rate_limit_pending"


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


# Authenticates the X-API-Key of an /api/ request the router never authenticated and counts it (spec §5);
# returns the 429 answer when the key is over its limit. Registered by the API package, which sits above this
# module in the layers (it may use the rate limiter; this module may not).
UnroutedKeyCounter = Callable[[HttpRequest], HttpResponse | None]
_unrouted_key_counter: UnroutedKeyCounter | None = None


def register_unrouted_key_counter(counter: UnroutedKeyCounter) -> None:
    global _unrouted_key_counter  # noqa: PLW0603 - one counter per process, set when the API loads
    _unrouted_key_counter = counter


def _key_counter() -> UnroutedKeyCounter | None:
    if _unrouted_key_counter is None:
        # The API package registers it when the URLconf imports it. An answer made before any URL was
        # resolved (a 413 as a process's first request) loads the URLconf here.
        importlib.import_module(settings.ROOT_URLCONF)
    return _unrouted_key_counter


class RateLimitHeadersMiddleware:
    """Copy the rate-limit state the API's authentication left on the request (orders/ratelimit.py) into
    the response headers — on every response of an API request with a valid key, errors included. A
    request counted while it ran (RATE_LIMIT_PENDING) gets its verdict here, before anything is sent:
    over the limit, the 429 replaces the view's answer.

    Answers the router gave without authenticating (405, an unknown route, a body refused before
    routing) are authenticated and counted here, so they carry the headers and use quota like any other
    request; a key over its limit gets the 429 instead. Being near the outside of the chain, it also
    puts into the envelope an error answer that a middleware further in made (a failure there is
    Django's HTML 500 page, which ApiErrorEnvelopeMiddleware, the innermost, never sees)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return response
        response = _enveloped(request, response)
        finish_count = getattr(request, RATE_LIMIT_PENDING, None)
        if finish_count is not None and (refusal := finish_count()) is not None:
            response.close()  # not sent: a streamed body is never read
            response = refusal
        if (
            not getattr(request, API_KEY_CHECKED, False)
            and request.headers.get("X-API-Key")
            and (counter := _key_counter()) is not None
        ):
            response = counter(request) or response
        state = getattr(request, "rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response


class ApiErrorEnvelopeMiddleware:
    """Under /api/: check the request body before anything parses it (the module docstring), and turn
    the framework's own error answers (404, 405, 413, CSRF, 500 — HTML pages) into the envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        refusal = _body_refusal(request)
        if refusal is not None:
            return refusal
        return _enveloped(request, self.get_response(request))


def _enveloped(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The envelope in place of a framework-made error answer (not JSON) under /api/; others as they are."""
    status = response.status_code
    if status < 400 or response.get("Content-Type", "").startswith("application/json"):
        return response
    if status == 405:
        # Sorted: the router builds the header from a set, whose order changes from process to process.
        allowed = ", ".join(sorted(m.strip() for m in response.get("Allow", "").split(",") if m.strip()))
        new = error_response(
            405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here. Allowed: {allowed or 'none'}."
        )
        if allowed:
            new["Allow"] = allowed
        return new
    if status == 404:
        return error_response(404, "NOT_FOUND", f"No API route matches {request.path}.")
    if status == 413:
        return _too_large()
    if status == 503:
        return error_response(503, "SERVICE_UNAVAILABLE", "The service is unavailable; retry shortly.")
    if status >= 500:
        return error_response(status, "INTERNAL_ERROR", "An internal error occurred.")
    return error_response(
        status,
        "INVALID_REQUEST",
        f"The request was refused before it reached the API ({status} {response.reason_phrase}); "
        "check its headers and body against /api/v1/docs.",
    )


def _too_large() -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api_error_response(
        PayloadTooLarge(
            f"The request body is larger than {limit} bytes, the most the API accepts; send less per request."
        )
    )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _body_refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer to a body that fails the checks of the module docstring, or None."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and _declared_length(request) > limit:
        return _too_large()  # without reading it
    try:
        body = request.body  # Django checks the size again while reading (ASGI: a chunked body)
    except RequestDataTooBig:
        return _too_large()
    if not body:
        return None
    if _nesting_exceeds(body, MAX_JSON_DEPTH):
        return error_response(400, "INVALID_REQUEST", DEPTH_MESSAGE)
    try:
        data = json.loads(body, parse_constant=_NonFinite)
    except ValueError:
        return None  # not JSON (or not UTF-8): the API answers 400 INVALID_REQUEST
    if not isinstance(data, dict):
        return error_response(400, "INVALID_REQUEST", NOT_AN_OBJECT.format(what=_kind(data)))
    problems = _value_problems(data)
    if not problems:
        return None
    fields = ", ".join(dict.fromkeys(field for field, _ in problems))
    helps = " ".join(dict.fromkeys(message for _, message in problems))
    return error_response(
        400,
        "VALIDATION_ERROR",
        f"Invalid value for: {fields}. {helps}",
        errors=[{"field": field, "message": message} for field, message in problems],
    )


def _nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether the body nests arrays/objects more than `limit` deep; brackets inside strings are text."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class _NonFinite(str):
    """What json.loads makes of NaN, Infinity and -Infinity (not JSON, but Python's reader takes them)."""


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str) and not isinstance(value, _NonFinite):
        return "a string"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return "a number"


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return NUL_HELP
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_HELP
    return None


def _printable(key: str) -> str:
    # A key holding a lone surrogate is named with it escaped: the error body must be valid UTF-8.
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _value_problems(data: dict) -> list[tuple[str, str]]:
    """(field path such as `items[0].name`, what is wrong) for every value the checks refuse, in the
    body's order. Iterative: the depth is bounded, but no recursion is needed to walk it."""
    problems: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _NonFinite):
            problems.append((path, NOT_FINITE_HELP))
        elif isinstance(value, str):
            if (problem := _text_problem(value)) is not None:
                problems.append((path, problem))
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                child = f"{path}.{_printable(key)}" if path else _printable(key)
                if (problem := _text_problem(key)) is not None:
                    problems.append((child, problem))
                children.append((item, child))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not integer_in_range(value):
                problems.append((path, INTEGER_HELP))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((path, NOT_FINITE_HELP))
    return problems


@csrf_exempt
def api_route_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    # csrf_exempt: a POST to a path that is no route is a 404, not Django's CSRF page.
    return error_response(404, "NOT_FOUND", f"No API route matches {request.path}. See /api/v1/docs.")
