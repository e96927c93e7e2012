"""How the API's operations are documented and answered: the wire types (money as a JSON number, the
vocabularies as enums, query parameters that may be blank), the error envelope and its codes,
`documented(...)` — every status and error code an operation can answer — and `respond`/`envelope`, the
success envelope. Vocabularies (statuses, event types, sorts, error codes) are read from the modules
that define them, at import. The request and response shapes themselves are in schemas.py.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from django.http import HttpResponse
from ninja import Field, Schema
from pydantic import GetJsonSchemaHandler, WithJsonSchema

from orders import errors
from orders.encoding import dumps
from orders.models import HistoryEntry, Refund, WebhookDelivery
from orders.selectors import SORTS
from orders.statuses import OrderStatus, PaymentStatus
from orders.webhooks import events

MAX_OFFSET = 1_000_000_000

# ---------------------------------------------------------------------------------------------------
# Wire types. The responses are rendered by orjson from serializers' dicts, so these annotations are
# what the document says about the JSON, read from the code's own vocabularies at import.

# Money is a JSON number in major units (spec §1), stored as Decimal. Pydantic would document a Decimal
# as a string (its own serialisation); ours is orjson's, a number.
Money = Annotated[Decimal, WithJsonSchema({"type": "number", "examples": [29.99]})]
# Timestamps: ISO 8601 UTC with milliseconds and Z; `datetime` documents `format: date-time`.
Timestamp = datetime

HistoryKind = StrEnum("HistoryKind", [(k.name, k.value) for k in HistoryEntry.Kind])  # type: ignore[misc]
ActorType = StrEnum("ActorType", [(k.name, k.value) for k in HistoryEntry.ActorType])  # type: ignore[misc]
RefundStatus = StrEnum("RefundStatus", [(k.name, k.value) for k in Refund.Status])  # type: ignore[misc]
DeliveryStatus = StrEnum(  # type: ignore[misc]
    "DeliveryStatus", [(k.name, k.value) for k in WebhookDelivery.Status]
)
# The webhook event catalogue (orders/webhooks/events.py): a new registered type is documented at once.
EventTypeName = StrEnum(  # type: ignore[misc]
    "EventTypeName", [(name.upper().replace(".", "_"), name) for name in events.REGISTRY]
)


def _any_of(*names: str) -> str:
    """A regex (ECMA and Python alike) for blank, or one or several comma-separated `names`."""
    one = "(" + "|".join(names) + ")"
    return rf"^\s*$|^\s*{one}\s*(,\s*{one}\s*)*$"


class _QueryDoc:
    """The JSON schema of an optional query parameter: its value's schema without the `null` branch and
    `default: null` (a parameter is absent or a string, never JSON null, which a query string cannot
    carry), plus `extra`. Documentation only: validation stays with the field's type."""

    def __init__(self, **extra: Any) -> None:
        self.extra = extra

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        schema = dict(handler(core_schema))
        branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            schema.update(branches[0])
        elif branches:
            schema["anyOf"] = branches
        if schema.get("default", ...) is None:
            del schema["default"]
        return schema | self.extra


# Query parameters. A blank value is the same as none (no filter, the default sort); NUL characters are
# refused (PostgreSQL text cannot hold them: orders/api/params.py).
BLANK = {"type": "string", "pattern": r"^\s*$"}
QueryText = Annotated[str | None, _QueryDoc(pattern=r"^[^\x00]*$")]
QueryDate = Annotated[
    str | None,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
                BLANK,
            ]
        }
    ),
]
QueryStatuses = Annotated[
    str | None,
    WithJsonSchema({"type": "string", "pattern": _any_of(*OrderStatus), "examples": ["pending,confirmed"]}),
]
QueryPaymentStatuses = Annotated[
    str | None,
    WithJsonSchema({"type": "string", "pattern": _any_of(*PaymentStatus), "examples": ["paid"]}),
]
QuerySort = Annotated[
    str | None,
    WithJsonSchema({"anyOf": [{"type": "string", "enum": list(SORTS)}, BLANK], "default": "-createdAt"}),
]
QueryUuid = Annotated[str | None, WithJsonSchema({"anyOf": [{"type": "string", "format": "uuid"}, BLANK]})]

# ---------------------------------------------------------------------------------------------------
# Errors


class FieldErrorOut(Schema):
    field: str = Field(..., examples=["limit"])
    message: str = Field(..., examples=["Input should be less than or equal to 50"])


def _codes_by_status() -> dict[str, int]:
    found: dict[str, int] = {}
    pending = list(errors.ApiError.__subclasses__())
    while pending:
        cls = pending.pop()
        found[cls.error_code] = cls.status
        pending.extend(cls.__subclasses__())
    return found


# errorCode → HTTP status, read from orders/errors.py so the docs cannot drift from the code. The request
# middleware answers PAYLOAD_TOO_LARGE before any view runs; it is listed even without its class there.
STATUS_OF_CODE = {"PAYLOAD_TOO_LARGE": 413} | _codes_by_status()
ErrorCode = StrEnum(  # type: ignore[misc]
    "ErrorCode", [(c, c) for c in sorted(STATUS_OF_CODE, key=lambda c: (STATUS_OF_CODE[c], c))]
)


class ErrorEnvelope(Schema):
    """Every failure (spec §1): `errorCode` is stable, `message` says what to fix. Each response lists
    the codes it may carry (description and `x-errorCodes`)."""

    success: Literal[False] = False
    message: str
    errorCode: ErrorCode
    errors: list[FieldErrorOut] | None = Field(None, description="Only for VALIDATION_ERROR.")
    retryAfter: int | None = Field(None, description="Only for RATE_LIMIT_EXCEEDED: seconds to wait.")


# Every operation behind the key can answer these. 405: a path answers it for the methods it does not
# serve (an OpenAPI document has no per-path responses, so each operation of the path lists it).
COMMON_ERROR_CODES = (
    "INVALID_API_KEY",
    "INSUFFICIENT_PERMISSIONS",
    "NO_STORE_ACCESS",
    "METHOD_NOT_ALLOWED",
    "RATE_LIMIT_EXCEEDED",
    "INTERNAL_ERROR",
    "SERVICE_UNAVAILABLE",
)
# What an operation that reads a request body answers besides its own codes (spec §7).
BODY_ERROR_CODES = ("VALIDATION_ERROR", "INVALID_REQUEST", "PAYLOAD_TOO_LARGE")

Headers = dict[str, dict[str, Any]]
_HEADER_INT = {"schema": {"type": "integer"}}
RATE_LIMIT_HEADERS: Headers = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the window that binds first.", **_HEADER_INT},
    "X-RateLimit-Remaining": {"description": "Requests left in that window.", **_HEADER_INT},
    "X-RateLimit-Reset": {"description": "When that window resets (Unix seconds).", **_HEADER_INT},
}
REQUEST_ID_HEADER: Headers = {
    "X-Request-Id": {
        "description": "The caller's X-Request-Id echoed, else a generated one; it is logged.",
        "required": True,
        "schema": {"type": "string"},
    }
}
RETRY_AFTER_HEADERS: Headers = {
    "Retry-After": {"description": "Seconds to wait.", "required": True, **_HEADER_INT},
    "X-RateLimit-Retry-After": {"description": "The same, under the rate-limit prefix.", **_HEADER_INT},
}
# Extra words for a status whose codes alone do not say when it happens.
STATUS_NOTES = {
    405: " — answered for this path with a method it does not serve; `Allow` lists those it does.",
    413: " — the request body is over the size limit, whatever its content type.",
    500: " — an unexpected error; the detail is logged under the response's X-Request-Id.",
    503: " — the database is unreachable; retry after `Retry-After` seconds.",
}


def documented(ok_status: int, ok_schema: Any, *error_codes: str) -> dict[str, Any]:
    """`response=` and `openapi_extra=` for an operation: the success schema plus, per HTTP status,
    the ErrorEnvelope with a description (and `x-errorCodes`) listing the error codes it may carry,
    and the headers every response carries.

        @router.get("/x", **documented(200, XEnvelope, "ORDER_NOT_FOUND"))

    `ok_schema` None: no JSON body — 204 has none; for another status (the export) the caller
    describes the content in openapi_extra.
    """
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys((*error_codes, *COMMON_ERROR_CODES)):
        by_status.setdefault(STATUS_OF_CODE[code], []).append(code)
    response: dict[int, Any] = {ok_status: ok_schema}
    ok_headers = REQUEST_ID_HEADER | RATE_LIMIT_HEADERS
    extra: dict[int, Any] = {ok_status: {"headers": dict(ok_headers)}}
    if ok_status == 204:
        extra[ok_status]["description"] = "Done; no body."
    for status, codes in sorted(by_status.items()):
        response[status] = ErrorEnvelope
        listed = ", ".join(f"`{c}`" for c in codes)
        # A 401 is answered before the key is known, so it carries no rate-limit headers.
        headers: Headers = REQUEST_ID_HEADER if status == 401 else ok_headers
        if status == 429:
            headers = headers | RETRY_AFTER_HEADERS
        if status == 503:
            headers = headers | {"Retry-After": RETRY_AFTER_HEADERS["Retry-After"]}
        extra[status] = {
            "description": f"errorCode: {listed}{STATUS_NOTES.get(status, '')}",
            "x-errorCodes": codes,
            "headers": dict(headers),
        }
    return {"response": response, "openapi_extra": {"responses": extra}}


def respond(data: Any, status: int = 200, message: str | None = None) -> HttpResponse:
    """The success envelope, rendered with orjson (Decimal → JSON number) and no re-validation."""
    body: dict[str, Any] = {"success": True, "data": data}
    if message:
        body["message"] = message
    return HttpResponse(dumps(body), status=status, content_type="application/json")


def envelope(name: str, data: Any) -> type[Schema]:
    """`{success: true, data: <data>}` as a named schema for the docs."""
    return type(name, (Schema,), {"__annotations__": {"success": Literal[True], "data": data}})
