"""Domain errors. Each carries the HTTP status and the stable `errorCode` of spec §6; the API's one
exception handler (`on_api_error` in the API package) turns any of them into the error envelope.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    status: int = 400
    error_code: str = "INVALID_REQUEST"
    default_message: str = "The request is invalid."

    def __init__(
        self, message: str | None = None, *, errors: list[FieldError] | None = None, **extra
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors or []
        self.extra = extra  # additional top-level keys of the envelope, e.g. retryAfter
        super().__init__(self.message)


def _error(name: str, status: int, code: str, default: str) -> type[ApiError]:
    return type(name, (ApiError,), {"status": status, "error_code": code, "default_message": default})


ValidationFailed = _error("ValidationFailed", 400, "VALIDATION_ERROR", "The request has invalid fields.")
InvalidRequest = _error("InvalidRequest", 400, "INVALID_REQUEST", "The request body is not valid JSON.")
InvalidStatus = _error("InvalidStatus", 400, "INVALID_STATUS", "Unknown order status.")
TooManyProducts = _error("TooManyProducts", 400, "TOO_MANY_PRODUCTS", "At most 100 products per sync.")
InvalidStatusTransition = _error(
    "InvalidStatusTransition", 400, "INVALID_STATUS_TRANSITION", "This status change is not allowed."
)
InvalidRefundAmount = _error("InvalidRefundAmount", 400, "INVALID_REFUND_AMOUNT", "Invalid refund amount.")
InsufficientInventory = _error("InsufficientInventory", 400, "INSUFFICIENT_INVENTORY", "Not enough stock.")
InvalidEventType = _error("InvalidEventType", 400, "INVALID_EVENT_TYPE", "Unknown webhook event type.")
InvalidApiKey = _error(
    "InvalidApiKey", 401, "INVALID_API_KEY", "A valid private API key is required in the X-API-Key header."
)
InsufficientPermissions = _error(
    "InsufficientPermissions",
    403,
    "INSUFFICIENT_PERMISSIONS",
    "Public (pk_) keys cannot use the Orders API; use a private (sk_) key.",
)
NoStoreAccess = _error("NoStoreAccess", 403, "NO_STORE_ACCESS", "This API key has no access to that store.")
OrderNotFound = _error("OrderNotFound", 404, "ORDER_NOT_FOUND", "Order not found.")
CustomerNotFound = _error("CustomerNotFound", 404, "CUSTOMER_NOT_FOUND", "Customer not found.")
VariantNotFound = _error("VariantNotFound", 404, "VARIANT_NOT_FOUND", "Variant not found.")
ProductNotFound = _error("ProductNotFound", 404, "PRODUCT_NOT_FOUND", "Product not found.")
WebhookNotFound = _error("WebhookNotFound", 404, "WEBHOOK_NOT_FOUND", "Webhook endpoint not found.")
NotFound = _error("NotFound", 404, "NOT_FOUND", "Not found.")
MethodNotAllowed = _error("MethodNotAllowed", 405, "METHOD_NOT_ALLOWED", "Method not allowed on this path.")
OrderAlreadyCancelled = _error(
    "OrderAlreadyCancelled", 409, "ORDER_ALREADY_CANCELLED", "The order is cancelled."
)
InvalidCancellation = _error(
    "InvalidCancellation", 409, "INVALID_CANCELLATION", "This order cannot be cancelled."
)
ExternalOrderIdExists = _error(
    "ExternalOrderIdExists",
    409,
    "EXTERNAL_ORDER_ID_EXISTS",
    "An order with this externalOrderId already exists with different content.",
)
OrderAlreadyLinked = _error("OrderAlreadyLinked", 409, "ORDER_ALREADY_LINKED", "The order is already linked.")
ExternalIdExists = _error(
    "ExternalIdExists", 409, "EXTERNAL_ID_EXISTS", "This external ID belongs to another order of the store."
)
IdempotencyKeyInUse = _error(
    "IdempotencyKeyInUse",
    409,
    "IDEMPOTENCY_KEY_IN_USE",
    "A request with this Idempotency-Key is still being processed; retry shortly.",
)
IdempotencyKeyReused = _error(
    "IdempotencyKeyReused",
    422,
    "IDEMPOTENCY_KEY_REUSED",
    "This Idempotency-Key was used with a different request body.",
)
PayloadTooLarge = _error(
    "PayloadTooLarge", 413, "PAYLOAD_TOO_LARGE", "The request body is larger than the API accepts."
)
RateLimitExceeded = _error("RateLimitExceeded", 429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded.")
InternalError = _error("InternalError", 500, "INTERNAL_ERROR", "An internal error occurred.")
ServiceUnavailable = _error("ServiceUnavailable", 503, "SERVICE_UNAVAILABLE", "The service is unavailable.")
