"""Money on input (issue 10, spec §7): bounded to what the money columns hold, held to the currency's
decimals (ISO 4217), finite — for refunds, cancel's refundAmount and the create-from-platform amounts."""

import pytest

from orders import money
from orders.auth import api_key_create
from orders.models import Order, Refund, Variant
from orders.statuses import OrderStatus
from tests.conftest import ApiClient
from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order

pytestmark = pytest.mark.django_db

TOO_LARGE = "Too large: at most 9999999999.99 (10 digits before the decimal point)."
NOT_FINITE = "Must be a finite amount."


def error_fields(response) -> list[dict]:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    return body["errors"]


def store_api(currency: str) -> tuple[object, ApiClient]:
    store = StoreFactory(currency=currency)
    return store, ApiClient(api_key_create(store=store).plaintext)


def test_money_bounds_are_those_of_the_money_columns():
    field = Order._meta.get_field("total")
    columns = (field.max_digits - field.decimal_places, field.decimal_places)  # type: ignore[union-attr]
    assert columns == (money.MAX_INTEGER_DIGITS, money.STORED_DECIMALS)
    assert str(money.MAX_AMOUNT) == "9999999999.99"


@pytest.mark.parametrize(("currency", "places"), [("JPY", 0), ("USD", 2), ("eur", 2), ("KWD", 3), ("XYZ", 2)])
def test_minor_units_come_from_the_iso_4217_table(currency, places):
    assert money.minor_units(currency) == places


# ---- refunds and cancel ------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e28", 1e28, "12345678901"])
def test_refund_amount_beyond_the_maximum_is_400_naming_amount(api, store, amount):
    # given
    order = make_order(store, status=OrderStatus.SHIPPED)

    # when
    response = api.post_json(f"/api/v1/orders/{order.id}/refunds", {"amount": amount})

    # then
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    assert error_fields(response) == [{"field": "amount", "message": TOO_LARGE}]
    assert not Refund.objects.filter(order=order).exists()
    assert api.get(f"/api/v1/orders/{order.id}").status_code == 200


def test_cancel_refund_amount_beyond_the_maximum_is_400_and_the_order_is_not_cancelled(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(f"/api/v1/orders/{order.id}/cancel", {"reason": "x", "refundAmount": 1e28})

    # then
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    assert error_fields(response) == [{"field": "refundAmount", "message": TOO_LARGE}]
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_refund_amount_literal_nan_or_infinity_is_400_naming_amount(api, store, raw):
    order = make_order(store, status=OrderStatus.SHIPPED)
    response = api.post(
        f"/api/v1/orders/{order.id}/refunds", f'{{"amount": {raw}}}', content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert [e["field"] for e in error_fields(response)] == ["amount"]
    assert not Refund.objects.filter(order=order).exists()


@pytest.mark.parametrize("raw", ['"NaN"', '"Infinity"', '"-Infinity"', '"sNaN"'])
def test_refund_amount_string_nan_or_infinity_is_400_naming_amount(api, store, raw):
    order = make_order(store, status=OrderStatus.SHIPPED)
    response = api.post(
        f"/api/v1/orders/{order.id}/refunds", f'{{"amount": {raw}}}', content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert [e["field"] for e in error_fields(response)] == ["amount"]
    assert not Refund.objects.filter(order=order).exists()


@pytest.mark.parametrize("amount", ["-0", "-0.00", -0.0])
def test_refund_of_negative_zero_is_400_invalid_refund_amount(api, store, amount):
    order = make_order(store, status=OrderStatus.SHIPPED)
    response = api.post_json(f"/api/v1/orders/{order.id}/refunds", {"amount": amount})
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == "INVALID_REFUND_AMOUNT"


def test_jpy_refund_with_decimals_is_400_saying_the_currency_takes_none():
    # given a JPY store's paid order of 2 × ¥1500
    store, api = store_api("JPY")
    order = make_order(
        store, status=OrderStatus.SHIPPED, items=[(VariantFactory(product__store=store, price=1500), 2)]
    )

    # when
    refused = api.post_json(f"/api/v1/orders/{order.id}/refunds", {"amount": 100.5})
    accepted = api.post_json(f"/api/v1/orders/{order.id}/refunds", {"amount": 100})

    # then
    assert refused.status_code == 400, refused.content
    assert refused.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    assert refused.json()["message"] == "JPY takes no decimals: send a whole amount such as 100."
    assert error_fields(refused) == [
        {"field": "amount", "message": "JPY takes no decimals: send a whole amount such as 100."}
    ]
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["data"]["refund"]["amount"] == 100


def test_jpy_cancel_refund_amount_with_decimals_is_400():
    store, api = store_api("JPY")
    order = make_order(
        store, status=OrderStatus.CONFIRMED, items=[(VariantFactory(product__store=store, price=1500), 1)]
    )
    response = api.put_json(f"/api/v1/orders/{order.id}/cancel", {"reason": "x", "refundAmount": "0.5"})
    assert response.status_code == 400, response.content
    assert error_fields(response) == [
        {"field": "refundAmount", "message": "JPY takes no decimals: send a whole amount such as 100."}
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


# ---- create from platform ----------------------------------------------------------------------------


def create(api, store, *, price, quantity=1, **overrides):
    if not Variant.objects.filter(store=store, external_id="v").exists():
        VariantFactory(product__store=store, product__external_id="p", external_id="v", track_inventory=False)
    body = {
        "customerId": str(CustomerFactory(store=store).id),
        "items": [{"externalProductId": "p", "externalVariantId": "v", "quantity": quantity, "price": price}],
        "total": price,
    }
    body.update(overrides)
    return api.post_json("/api/v1/orders", body)


def test_jpy_create_with_a_decimal_price_is_400_naming_the_field():
    store, api = store_api("JPY")
    response = create(api, store, price=100.5)
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert error_fields(response) == [
        {"field": "items[0].price", "message": "JPY takes no decimals: send a whole amount such as 100."},
        {"field": "total", "message": "JPY takes no decimals: send a whole amount such as 100."},
    ]
    assert not Order.objects.filter(store=store).exists()


def test_jpy_create_with_whole_amounts_is_201():
    store, api = store_api("JPY")
    response = create(api, store, price=1500)
    assert response.status_code == 201, response.content
    assert response.json()["data"]["total"] == 1500


def test_create_in_a_currency_other_than_the_stores_uses_that_currencys_decimals(api, store):
    response = create(api, store, price=10.5, currency="JPY")
    assert response.status_code == 400, response.content
    assert error_fields(response)[0]["field"] == "items[0].price"


def test_kwd_amounts_are_held_to_the_two_decimals_the_columns_store():
    # given a KWD store (ISO 4217: 3 decimals; the money columns keep 2)
    store, api = store_api("KWD")
    order = make_order(store, status=OrderStatus.SHIPPED)

    # when
    refused_create = create(api, store, price="1.234")
    accepted_create = create(api, store, price="1.23", externalOrderId="second")
    refused_refund = api.post_json(f"/api/v1/orders/{order.id}/refunds", {"amount": "1.234"})

    # then
    assert refused_create.status_code == 400, refused_create.content
    assert error_fields(refused_create)[0]["field"] == "items[0].price"
    assert accepted_create.status_code == 201, accepted_create.content
    assert refused_refund.status_code == 400, refused_refund.content
    assert error_fields(refused_refund) == [
        {
            "field": "amount",
            "message": "KWD amounts are stored with at most 2 decimals here (ISO 4217 gives KWD 3): round to 2.",
        }
    ]


@pytest.mark.parametrize("price", [999999999999, "1e28"])
def test_create_with_a_price_beyond_the_columns_is_400(api, store, price):
    response = create(api, store, price=price)
    assert response.status_code == 400, response.content
    assert [e["field"] for e in error_fields(response)] == ["items[0].price", "total"]
    assert not Order.objects.filter(store=store).exists()


def test_create_whose_computed_subtotal_is_beyond_the_columns_is_400(api, store):
    # every amount fits, but 1,000,000 × 99,999 does not
    response = create(api, store, price=99999, quantity=1_000_000, total=1)
    assert response.status_code == 400, response.content
    assert error_fields(response) == [
        {
            "field": "items",
            "message": "The sum of quantity × price is 99999000000.00, over the maximum 9999999999.99.",
        }
    ]
    assert not Order.objects.filter(store=store).exists()


def test_create_with_negative_zero_amounts_stores_zero(api, store):
    # given
    body_discount = "-0.00"
    # when
    first = create(api, store, price=10, discount=body_discount, tax=-0.0, externalOrderId="neg0")
    replay = api.post_json(
        "/api/v1/orders",
        {
            "customerId": first.json()["data"]["customer"]["id"],
            "externalOrderId": "neg0",
            "items": [{"externalProductId": "p", "externalVariantId": "v", "quantity": 1, "price": 10}],
            "total": 10,
        },
    )
    # then
    assert first.status_code == 201, first.content
    assert b'":-0' not in first.content
    assert replay.status_code == 200, replay.content  # the same order, not a conflict
    order = Order.objects.get(store=store)
    assert (str(order.discount), str(order.tax)) == ("0.00", "0.00")


@pytest.mark.parametrize("raw", ['"NaN"', "NaN", '"Infinity"', "1e400"])
def test_create_with_a_total_that_is_not_finite_is_400_naming_total(api, store, raw):
    VariantFactory(product__store=store, product__external_id="p", external_id="v")
    customer = CustomerFactory(store=store)
    body = (
        f'{{"customerId": "{customer.id}", "items": [{{"externalProductId": "p", "externalVariantId": "v", '
        f'"quantity": 1, "price": 1}}], "total": {raw}}}'
    )
    response = api.post("/api/v1/orders", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert [e["field"] for e in error_fields(response)] == ["total"]
