"""The Orders API client (spec/orders-api.md). No Django imports: usable from a plain script.

    client = OrdersApiClient("https://orders.example.com", "sk_live_…")
    page = client.orders.list(status=["pending", "confirmed"], limit=25)
    order = client.orders.get(page.orders[0].id)

Guarantees:
- every call has a timeout (`timeout=`, default 10 s read / 3 s connect);
- reads (GET) are retried on connection errors and 5xx with capped exponential backoff;
- writes are retried only when the caller passes `idempotency_key=` (the API then replays the first
  response instead of acting twice); without one a write is sent exactly once;
- every API failure raises `ApiError` (status, error_code, message, field_errors, retry_after); a
  server that cannot be reached raises `ApiUnavailable`, one that does not answer in time `ApiTimeout`,
  and a success answer the client cannot read (not JSON, a key missing, a wrong type, an empty body
  where data was due, an export that is not of the media type asked for) `ApiBadAnswer`;
- answers come back typed (dashboard/api_types.py): money as Decimal, timestamps as aware datetimes.
The API key is sent only in the `X-API-Key` header and never appears in an error message or repr.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from dashboard.api_resources import Customers, ExportStream, History, Orders, Webhooks

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 2.0
USER_AGENT = "vesuvio-dashboard/1.0 (+httpx)"
# 5xx answers worth another try: the server (or a proxy in front of it) may be restarting.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """The API answered with an error (or could not be reached: see the subclasses)."""

    def __init__(
        self,
        status: int | None,
        error_code: str,
        message: str,
        field_errors: list[FieldError] | None = None,
        retry_after: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.field_errors = field_errors or []
        self.retry_after = retry_after
        self.request_id = request_id
        super().__init__(f"{status} {error_code}: {message}")


class ApiUnavailable(ApiError):
    """No connection to the API (refused, DNS, reset): nothing was answered."""

    def __init__(self, message: str) -> None:
        super().__init__(None, "API_UNAVAILABLE", message)


class ApiTimeout(ApiError):
    """The API did not answer within the timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(None, "API_TIMEOUT", message)


class ApiBadAnswer(ApiError):
    """The API said yes, but with a body the client cannot read: not JSON, not the `{"success": true,
    "data": …}` envelope, or data without a key it needs or with a wrong type (an incompatible API)."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(None, "BAD_API_ANSWER", message, request_id=request_id)


@functools.cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def _problems(exc: ValidationError) -> str:
    """Where and what, never the values: an answer may hold a customer's data or a webhook secret."""
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'data'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:3]
    ]
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_query_value(v) for v in value)
    return str(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _params(filters: Mapping[str, Any]) -> dict[str, str]:
    """snake_case keyword filters → the API's camelCase query parameters; None and empty are dropped."""
    params: dict[str, str] = {}
    for name, value in filters.items():
        if value is None or value == "" or (isinstance(value, list | tuple | set) and not value):
            continue
        params[_camel(name)] = _query_value(value)
    return params


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # The API parses JSON numbers as Decimal; a str() keeps every digit the caller gave.
        return float(value) if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"Cannot send {type(value).__name__} as JSON")


def _error_from_response(response: httpx.Response) -> ApiError:
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    retry_after = body.get("retryAfter") or response.headers.get("Retry-After")
    try:
        retry_after_int = int(retry_after) if retry_after is not None else None
    except (TypeError, ValueError):
        retry_after_int = None
    return ApiError(
        status=response.status_code,
        error_code=str(body.get("errorCode") or f"HTTP_{response.status_code}"),
        message=str(body.get("message") or response.reason_phrase or "The API returned an error."),
        field_errors=[
            FieldError(field=str(e.get("field", "")), message=str(e.get("message", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ],
        retry_after=retry_after_int,
        request_id=response.headers.get("X-Request-Id"),
    )


class OrdersApiClient:
    """One store's view of the Orders API (the key decides the store)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        on_behalf_of: str | None = None,
        retries: int = 3,
        backoff: float = BACKOFF_BASE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"X-API-Key": api_key, "Accept": "application/json", "User-Agent": USER_AGENT}
        if on_behalf_of:
            headers["X-On-Behalf-Of"] = on_behalf_of[:150]
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers=headers,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
        )
        self.retries = max(0, retries)
        self.backoff = backoff
        self._sleep = sleep
        self.orders = Orders(self)
        self.history = History(self)
        self.customers = Customers(self)
        self.webhooks = Webhooks(self)

    def __repr__(self) -> str:  # never the key
        return f"OrdersApiClient({str(self._http.base_url)!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OrdersApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transport with retries -------------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        # Exponential with full jitter, capped: 0.2, 0.4, 0.8 … ≤ 2 s, so a page never hangs long.
        return random.uniform(0, min(BACKOFF_CAP_SECONDS, self.backoff * (2**attempt)))  # noqa: S311

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        stream: bool = False,
        accept: str | None = None,
    ) -> httpx.Response:
        """Send with retries per the module rules; returns a 2xx response or raises ApiError."""
        headers = {"Accept": accept} if accept else {}
        content = None
        if body is not None:
            content = json.dumps(body, default=_json_default).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        retryable = method == "GET" or bool(idempotency_key)
        attempts = 1 + (self.retries if retryable else 0)
        request = self._http.build_request(method, path, params=params, content=content, headers=headers)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                # A connect timeout means nothing reached the server: safe to retry. A read timeout is
                # not retried: a slow API does not get faster, and the user is waiting.
                if isinstance(exc, httpx.ConnectTimeout) and not last:
                    self._sleep(self._delay(attempt))
                    continue
                raise ApiTimeout(
                    f"The Orders API did not answer within the timeout ({method} {path})."
                ) from None
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if not last:
                    self._sleep(self._delay(attempt))
                    continue
                raise ApiUnavailable(
                    f"The Orders API could not be reached ({type(exc).__name__}: {method} {path})."
                ) from None
            if response.is_success:
                return response
            if stream:
                response.read()
                response.close()
            retry_status = response.status_code in RETRYABLE_STATUSES or (
                response.status_code == 409 and b"IDEMPOTENCY_KEY_IN_USE" in response.content
            )
            if retry_status and not last:
                self._sleep(self._delay(attempt))
                continue
            raise _error_from_response(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _data(self, response: httpx.Response, shape: Any = None) -> Any:
        """The `data` of a success envelope, validated as `shape` (raw JSON values when None)."""
        where = _where(response)
        request_id = response.headers.get("X-Request-Id")
        if response.status_code == 204 or not response.content:
            if shape is None:  # an answer without data (DELETE): nothing to read
                return None
            raise ApiBadAnswer(f"The Orders API answered {where} with an empty body.", request_id)
        try:
            # Decimal for every JSON number with a fraction: money never passes through a float.
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise ApiBadAnswer(
                f"The Orders API answered {where} with a body that is not JSON.", request_id
            ) from None
        if not isinstance(body, dict) or "data" not in body:
            raise ApiBadAnswer(f"The Orders API answered {where} without its data envelope.", request_id)
        if shape is None:
            return body["data"]
        try:
            return _adapter(shape).validate_python(body["data"])
        except ValidationError as exc:
            raise ApiBadAnswer(
                f"The Orders API answered {where} with data the client cannot read ({_problems(exc)}).",
                request_id,
            ) from None

    def get(self, path: str, *, shape: Any = None, **filters: Any) -> Any:
        """GET `path` with `filters` as query parameters; the answer's data as `shape` (or raw)."""
        return self._data(self._send("GET", path, params=_params(filters)), shape)

    def write(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        shape: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        response = self._send(method, path, body=body, idempotency_key=idempotency_key)
        return self._data(response, shape)

    @contextmanager
    def stream(self, path: str, *, media_type: str, **filters: Any) -> Iterator[ExportStream]:
        """An open streamed answer of `media_type` (e.g. `text/csv`). Checked before a byte of the body
        is read: a success answer of another type (a proxy's HTML page) raises `ApiBadAnswer`, so a
        caller never passes a body on under a type it does not have."""
        # JSON too: the API's error answers are JSON whatever was asked for.
        accept = f"{media_type}, application/json;q=0.5"
        response = self._send("GET", path, params=_params(filters), stream=True, accept=accept)
        try:
            received = _media_type(response)
            if received != media_type.lower():
                raise ApiBadAnswer(
                    f"The Orders API answered {_where(response)} with {received[:80] or 'no Content-Type'}"
                    f", not {media_type}.",
                    response.headers.get("X-Request-Id"),
                )
            yield ExportStream(response)
        finally:
            response.close()


def _where(response: httpx.Response) -> str:
    """The method and path as sent, without the query: a search filter may hold a customer's email."""
    return f"{response.request.method} {response.request.url.raw_path.partition(b'?')[0].decode()}"


def _media_type(response: httpx.Response) -> str:
    """The answer's media type without parameters, lower case (`TEXT/CSV; charset=utf-8` → `text/csv`)."""
    return response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
