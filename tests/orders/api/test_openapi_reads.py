"""The OpenAPI document lists every read operation with its verb-name id and its error responses,
and the documented response schemas describe what the endpoints actually return."""

from decimal import Decimal

import pytest
from pydantic import BaseModel

from orders.api import schemas
from tests.factories import CustomerFactory, VariantFactory, make_order

pytestmark = pytest.mark.django_db

READS = {
    ("/api/v1/orders", "get"): ("list_orders", {400, 401, 403, 429, 500}),
    ("/api/v1/orders/statuses", "get"): ("list_order_statuses", {401, 403, 429, 500}),
    ("/api/v1/orders/export", "get"): ("export_orders", {400, 401, 403, 429, 500}),
    ("/api/v1/orders/stats", "get"): ("get_order_stats", {400, 401, 403, 429, 500}),
    ("/api/v1/orders/{order_id}", "get"): ("get_order", {401, 403, 404, 429, 500}),
    ("/api/v1/orders/{order_id}/history", "get"): ("get_order_history", {401, 403, 404, 429, 500}),
    ("/api/v1/history", "get"): ("list_history", {400, 401, 403, 429, 500}),
    ("/api/v1/customers", "get"): ("list_customers", {400, 401, 403, 429, 500}),
    ("/api/v1/customers/{customer_id}", "get"): ("get_customer", {401, 403, 404, 429, 500}),
    ("/api/v1/customers/by-email/{email}", "get"): ("get_customer_by_email", {401, 403, 404, 429, 500}),
    ("/api/v1/sdk/products/{product_id}", "get"): ("get_product", {401, 403, 404, 429, 500}),
    ("/api/v1/sdk/products/sync", "post"): ("sync_products", {400, 401, 403, 429, 500}),
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
