"""The OpenAPI document lists every read operation with its verb-name id and its error responses,
and the documented response schemas describe what the endpoints actually return."""

from decimal import Decimal

import pytest
from pydantic import BaseModel

from orders.api import schemas
from tests.factories import CustomerFactory, VariantFactory, make_order

pytestmark = pytest.mark.django_db

# Every operation can also answer these (the key, the path's other methods, limits, failures).
COMMON = {401, 403, 405, 429, 500, 503}
READS = {
    ("/api/v1/orders", "get"): ("list_orders", {400} | COMMON),
    ("/api/v1/orders/statuses", "get"): ("list_order_statuses", COMMON),
    ("/api/v1/orders/export", "get"): ("export_orders", {400} | COMMON),
    ("/api/v1/orders/stats", "get"): ("get_order_stats", {400} | COMMON),
    ("/api/v1/orders/{order_id}", "get"): ("get_order", {404} | COMMON),
    ("/api/v1/orders/{order_id}/history", "get"): ("get_order_history", {404} | COMMON),
    ("/api/v1/history", "get"): ("list_history", {400} | COMMON),
    ("/api/v1/customers", "get"): ("list_customers", {400} | COMMON),
    ("/api/v1/customers/{customer_id}", "get"): ("get_customer", {404} | COMMON),
    ("/api/v1/customers/by-email/{email}", "get"): ("get_customer_by_email", {404} | COMMON),
    ("/api/v1/sdk/products/{product_id}", "get"): ("get_product", {404} | COMMON),
    ("/api/v1/sdk/products/sync", "post"): ("sync_products", {400, 413} | COMMON),
}


def test_every_read_operation_is_documented_with_its_errors(api):
    # when
    document = api.get("/api/v1/openapi.json").json()
    # then
    for (path, method), (operation_id, error_statuses) in READS.items():
        operation = document["paths"][path][method]
        assert operation["operationId"] == operation_id
        responses = operation["responses"]
        assert "200" in responses, path
        for status in error_statuses:
            error = responses[str(status)]
            assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope"), path
            assert "errorCode: `" in error["description"], path
            assert error["x-errorCodes"], path
    assert "totalIsCapped" in document["components"]["schemas"]["OrderListOut"]["properties"]
    assert "totalIsCapped" in document["paths"]["/api/v1/orders"]["get"]["description"]


def _models_in(annotation) -> tuple[type[BaseModel] | None, type[BaseModel] | None]:
    """(model, list item model) named by an annotation such as `X | None` or `list[X]`."""
    model = item_model = None
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            model = candidate
        elif getattr(candidate, "__origin__", None) is list:
            (inner,) = candidate.__args__
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                item_model = inner
    return model, item_model


def assert_matches(model: type[BaseModel], value: dict) -> None:
    """`value` validates against `model` and has exactly its keys, recursively."""
    model.model_validate(value)
    assert set(value) == set(model.model_fields), model.__name__
    for name, field in model.model_fields.items():
        inner_model, item_model = _models_in(field.annotation)
        if inner_model and isinstance(value[name], dict):
            assert_matches(inner_model, value[name])
        if item_model and isinstance(value[name], list):
            for item in value[name]:
                assert_matches(item_model, item)


def test_documented_schemas_match_the_responses(api, store):
    # given
    variant = VariantFactory(product__store=store, price=Decimal("5.00"))
    order = make_order(store, items=[(variant, 1)], external_id="e-1")
    order.shipping_address = {"name": "A", "line1": "1 St", "city": "X", "country": "US"}
    order.save()
    customer = CustomerFactory(store=store)
    # when / then
    assert_matches(schemas.OrderListOut, api.get("/api/v1/orders").json()["data"])
    assert_matches(schemas.OrderDetailOut, api.get(f"/api/v1/orders/{order.id}").json()["data"])
    assert_matches(schemas.OrderHistoryOut, api.get("/api/v1/orders/e-1/history").json()["data"])
    assert_matches(schemas.StatusesOut, api.get("/api/v1/orders/statuses").json()["data"])
    assert_matches(schemas.StatsOut, api.get("/api/v1/orders/stats").json()["data"])
    assert_matches(schemas.HistoryFeedOut, api.get("/api/v1/history").json()["data"])
    assert_matches(schemas.CustomerListOut, api.get("/api/v1/customers").json()["data"])
    assert_matches(schemas.CustomerOut, api.get(f"/api/v1/customers/{customer.id}").json()["data"])
    assert_matches(schemas.ProductOut, api.get(f"/api/v1/sdk/products/{variant.product_id}").json()["data"])


# ---------------------------------------------------------------------------------------------------
# The document tells the truth: literal facts a client generator relies on.


@pytest.fixture
def document(api) -> dict:
    return api.get("/api/v1/openapi.json").json()


def _operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_money_is_documented_as_a_json_number(document):
    schemas_ = document["components"]["schemas"]
    # then every amount the responses carry is a number, as the renderer writes it (never a string)
    for schema, field in [
        ("OrderSummaryOut", "total"),
        ("OrderSummaryOut", "refundedAmount"),
        ("OrderDetailOut", "subtotal"),
        ("OrderDetailOut", "tax"),
        ("OrderDetailOut", "shipping"),
        ("OrderDetailOut", "discount"),
        ("LineItemOut", "price"),
        ("RefundOut", "amount"),
        ("StatsTotalsOut", "revenue"),
        ("StatsDayOut", "revenue"),
        ("VariantOut", "price"),
    ]:
        assert schemas_[schema]["properties"][field]["type"] == "number", (schema, field)


def test_statuses_sorts_and_event_types_are_enums(document):
    schemas_ = document["components"]["schemas"]
    # then
    assert schemas_["OrderStatus"]["enum"] == [
        "pending",
        "confirmed",
        "processing",
        "partially_shipped",
        "shipped",
        "partially_delivered",
        "delivered",
        "cancelled",
        "refunded",
    ]
    assert schemas_["PaymentStatus"]["enum"] == ["unpaid", "paid", "partially_refunded", "refunded"]
    assert schemas_["DeliveryStatus"]["enum"] == ["pending", "succeeded", "failed", "cancelled"]
    assert schemas_["RefundStatus"]["enum"] == ["pending", "succeeded", "failed"]
    assert schemas_["EventTypeName"]["enum"] == [
        "order.created",
        "order.status_updated",
        "order.confirmed",
        "order.shipped",
        "order.partially_shipped",
        "order.delivered",
        "order.partially_delivered",
        "order.cancelled",
        "order.refunded",
        "webhook.test",
    ]
    summary = schemas_["OrderSummaryOut"]["properties"]
    assert summary["status"] == {"$ref": "#/components/schemas/OrderStatus"}
    assert summary["paymentStatus"] == {"$ref": "#/components/schemas/PaymentStatus"}
    assert schemas_["DeliveryOut"]["properties"]["status"] == {"$ref": "#/components/schemas/DeliveryStatus"}
    assert schemas_["WebhookOut"]["properties"]["eventTypes"]["items"] == {
        "$ref": "#/components/schemas/EventTypeName"
    }
    sort = _parameter(document, "/api/v1/orders", "sort")["schema"]
    assert sort["anyOf"][0]["enum"] == [
        "-createdAt",
        "createdAt",
        "-updatedAt",
        "updatedAt",
        "-total",
        "total",
        "-orderNumber",
        "orderNumber",
    ]
    assert sort["default"] == "-createdAt"
    create_webhook = document["paths"]["/api/v1/webhooks"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    event_types = document["components"]["schemas"][create_webhook["schema"]["$ref"].split("/")[-1]]
    assert event_types["properties"]["eventTypes"]["items"]["enum"] == schemas_["EventTypeName"]["enum"]


def _parameter(document: dict, path: str, name: str) -> dict:
    (parameter,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
    return parameter


def test_times_and_dates_carry_their_formats(document):
    schemas_ = document["components"]["schemas"]
    # then response timestamps are date-times, calendar days are dates
    assert schemas_["OrderSummaryOut"]["properties"]["createdAt"] == {
        "format": "date-time",
        "title": "Createdat",
        "type": "string",
    }
    assert schemas_["HistoryEntryOut"]["properties"]["changedAt"]["format"] == "date-time"
    assert schemas_["StatsOut"]["properties"]["dateFrom"]["format"] == "date"
    assert schemas_["StatsDayOut"]["properties"]["date"]["format"] == "date"
    # and a date filter takes a day or a date-time (or nothing, when blank)
    date_from = _parameter(document, "/api/v1/orders", "dateFrom")["schema"]["anyOf"]
    assert [branch.get("format") for branch in date_from] == ["date", "date-time", None]
    assert _parameter(document, "/api/v1/orders", "customerId")["schema"]["anyOf"][0]["format"] == "uuid"


def test_delete_answers_204_without_a_body(document):
    for path in ("/api/v1/webhooks/{webhook_id}", "/api/v1/sdk/stores/{store_id}/webhooks/{webhook_id}"):
        no_content = document["paths"][path]["delete"]["responses"]["204"]
        assert "content" not in no_content
        assert "200" not in document["paths"][path]["delete"]["responses"]


def test_every_operation_documents_every_status_it_can_answer_in_the_envelope(document):
    for name, operation in _operations(document):
        responses = operation["responses"]
        expected = set(COMMON)
        if "requestBody" in operation:
            expected |= {400, 413}
        if any(p["in"] == "path" and p["name"] != "store_id" for p in operation.get("parameters", [])):
            expected.add(404)
        assert expected <= {int(status) for status in responses}, name
        for status, response in responses.items():
            if int(status) < 400:
                continue
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorEnvelope"
            }, (name, status)
            assert response["x-errorCodes"], (name, status)
            assert "X-Request-Id" in response["headers"], (name, status)
        if "requestBody" in operation:
            assert responses["413"]["x-errorCodes"] == ["PAYLOAD_TOO_LARGE"], name
        assert responses["405"]["x-errorCodes"] == ["METHOD_NOT_ALLOWED"], name
        assert responses["503"]["x-errorCodes"] == ["SERVICE_UNAVAILABLE"], name
        assert "Retry-After" in responses["429"]["headers"], name


def test_the_error_envelope_names_every_error_code_of_the_spec(document):
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    error_code = document["components"]["schemas"][envelope["properties"]["errorCode"]["$ref"].split("/")[-1]]
    # then spec §6, literally
    assert set(error_code["enum"]) == {
        "VALIDATION_ERROR",
        "INVALID_REQUEST",
        "INVALID_STATUS",
        "TOO_MANY_PRODUCTS",
        "INVALID_STATUS_TRANSITION",
        "INVALID_REFUND_AMOUNT",
        "INSUFFICIENT_INVENTORY",
        "INVALID_EVENT_TYPE",
        "INVALID_API_KEY",
        "INSUFFICIENT_PERMISSIONS",
        "NO_STORE_ACCESS",
        "ORDER_NOT_FOUND",
        "CUSTOMER_NOT_FOUND",
        "VARIANT_NOT_FOUND",
        "PRODUCT_NOT_FOUND",
        "WEBHOOK_NOT_FOUND",
        "NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "ORDER_ALREADY_CANCELLED",
        "INVALID_CANCELLATION",
        "EXTERNAL_ORDER_ID_EXISTS",
        "ORDER_ALREADY_LINKED",
        "EXTERNAL_ID_EXISTS",
        "IDEMPOTENCY_KEY_IN_USE",
        "IDEMPOTENCY_KEY_REUSED",
        "PAYLOAD_TOO_LARGE",
        "RATE_LIMIT_EXCEEDED",
        "INTERNAL_ERROR",
        "SERVICE_UNAVAILABLE",
    }
