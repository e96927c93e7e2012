"""POST /api/v1/orders — create from an external platform (spec §3.8)."""

from decimal import Decimal

import pytest

from orders.models import Customer, HistoryEntry, LineItem, Order, Variant, WebhookEvent
from tests.factories import CustomerFactory, VariantFactory

URL = "/api/v1/orders"


@pytest.fixture
def variant(store):
    return VariantFactory(
        product__store=store,
        product__external_id="prod_123",
        product__name="Premium T-Shirt",
        external_id="var_456",
        sku="TSHIRT-BLK-M",
        inventory_quantity=10,
    )


def seed_body(customer_id, **overrides):
    """The seed doc's example, with a customer of the store."""
    body = {
        "externalOrderId": "shop_order_123",
        "customerId": str(customer_id),
        "items": [
            {"externalProductId": "prod_123", "externalVariantId": "var_456", "quantity": 2, "price": 29.99}
        ],
        "total": 59.98,
        "status": "pending",
        "metadata": {"platformOrderNumber": "#1234", "platformName": "Shopify"},
    }
    body.update(overrides)
    return body


def test_create_from_platform_makes_the_order_with_snapshots(api, store, variant, issued_key):
    # given
    customer = CustomerFactory(store=store)

    # when
    response = api.post_json(URL, seed_body(customer.id))

    # then
    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response
    data = response.json()["data"]
    assert data["externalId"] == "shop_order_123"
    assert data["platformName"] == "Shopify"
    assert data["orderNumber"] == "ORD-000001"
    assert (data["status"], data["paymentStatus"]) == ("pending", "unpaid")
    assert data["customer"]["id"] == str(customer.id)
    assert (data["subtotal"], data["total"], data["currency"]) == (59.98, 59.98, "USD")
    item = data["items"][0]
    assert item["product"] == {"name": "Premium T-Shirt", "sku": "TSHIRT-BLK-M"}
    assert (item["quantity"], item["price"], item["subtotal"]) == (2, 29.99, 59.98)
    assert data["metadata"] == {"platformOrderNumber": "#1234", "platformName": "Shopify"}
    created = data["statusHistory"][0]
    assert (created["kind"], created["fromStatus"], created["toStatus"]) == ("created", None, "pending")
    assert created["actor"]["apiKeyPrefix"] == issued_key.api_key.prefix
    variant.refresh_from_db()
    assert variant.inventory_quantity == 8
    assert WebhookEvent.objects.filter(type="order.created", order_id=data["id"]).count() == 1


def test_retry_with_same_content_returns_existing_order_200_and_creates_nothing(api, store, variant):
    # given
    customer = CustomerFactory(store=store)
    first = api.post_json(URL, seed_body(customer.id))

    # when
    retry = api.post_json(URL, seed_body(customer.id, metadata={"different": "metadata is not content"}))

    # then
    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["data"]["id"] == first.json()["data"]["id"]
    assert Order.objects.filter(store=store).count() == 1
    variant.refresh_from_db()
    assert variant.inventory_quantity == 8  # stock taken once


@pytest.mark.parametrize(
    "change",
    [
        {
            "total": 29.99,
            "items": [
                {
                    "externalProductId": "prod_123",
                    "externalVariantId": "var_456",
                    "quantity": 1,
                    "price": 29.99,
                }
            ],
        },
        {"currency": "EUR"},
    ],
)
def test_retry_with_different_content_is_409(api, store, variant, change):
    # given
    customer = CustomerFactory(store=store)
    api.post_json(URL, seed_body(customer.id))

    # when
    response = api.post_json(URL, seed_body(customer.id, **change))

    # then
    assert response.status_code == 409
    assert response.json()["errorCode"] == "EXTERNAL_ORDER_ID_EXISTS"
    assert Order.objects.filter(store=store).count() == 1


def test_same_external_id_in_another_store_is_a_separate_order(api, other_api, store, other_store, variant):
    # given
    api.post_json(URL, seed_body(CustomerFactory(store=store).id))
    VariantFactory(product__store=other_store, product__external_id="prod_123", external_id="var_456")

    # when
    response = other_api.post_json(URL, seed_body(CustomerFactory(store=other_store).id))

    # then
    assert response.status_code == 201
    assert Order.objects.count() == 2


def test_customer_info_matches_existing_customer_by_email_case_insensitively(api, store, variant):
    # given
    existing = CustomerFactory(store=store, email="jane@example.com")
    body = seed_body(None, customerInfo={"email": "Jane@Example.COM", "firstName": "Jane"})
    del body["customerId"]

    # when
    response = api.post_json(URL, body)

    # then
    assert response.status_code == 201
    assert response.json()["data"]["customer"]["id"] == str(existing.id)
    assert Customer.objects.filter(store=store).count() == 1


def test_customer_info_creates_a_new_customer(api, store, variant):
    # given
    body = seed_body(None, customerInfo={"email": "New@Example.com", "firstName": "Nia", "lastName": "Doe"})
    del body["customerId"]

    # when
    response = api.post_json(URL, body)

    # then
    data = response.json()["data"]
    assert data["customer"]["email"] == "new@example.com"
    assert data["customerName"] == "Nia Doe"


def test_full_body_with_addresses_payment_totals_and_placed_at(api, store, variant):
    # given
    body = seed_body(
        CustomerFactory(store=store).id,
        externalOrderId="full-1",
        status="CONFIRMED",
        platformName="Shopify",
        subtotal=59.98,
        tax=5.40,
        shipping=10,
        discount=0.5,
        total=74.88,
        currency="eur",
        shippingAddress={
            "name": "J",
            "line1": "1 Main St",
            "city": "Rome",
            "postalCode": "00100",
            "country": "IT",
        },
        payment={"method": "card", "transactionId": "txn_1"},
        placedAt="2024-01-15T10:30:00Z",
        items=[
            {
                "externalProductId": "prod_123",
                "externalVariantId": "var_456",
                "quantity": 2,
                "price": 29.99,
                "name": "Custom name",
                "sku": "CUSTOM-SKU",
            }
        ],
    )

    # when
    response = api.post_json(URL, body)

    # then
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["status"], data["paymentStatus"], data["currency"]) == ("confirmed", "paid", "EUR")
    assert data["payment"] == {
        "method": "card",
        "transactionId": "txn_1",
        "paidAt": "2024-01-15T10:30:00.000Z",
    }
    assert data["createdAt"] == "2024-01-15T10:30:00.000Z"
    assert data["shippingAddress"]["postalCode"] == "00100"
    assert data["items"][0]["product"] == {"name": "Custom name", "sku": "CUSTOM-SKU"}
    assert (data["tax"], data["shipping"], data["discount"], data["total"]) == (5.4, 10, 0.5, 74.88)


def test_the_create_answer_is_what_reading_the_order_answers(api, store, variant):
    """The create answers from the rows it has just written, without reading them back: the same
    order as a later read shows (amounts, times in UTC, snapshots, history)."""
    # given a body whose values the database normalises: amounts without cents, a time with an offset
    body = seed_body(
        None,
        customerId=None,
        customerInfo={"email": " New.Buyer@Example.com ", "firstName": " Ann ", "phoneNumber": "+39 06"},
        status="confirmed",
        tax=5,
        shipping=0,
        discount=0,
        total=64.98,
        placedAt="2024-01-15T12:30:00.123456+02:00",
        billingAddress={"name": "A", "line1": "1 Via Roma", "country": "IT", "unknown": "dropped"},
        payment={"method": "card"},
        metadata={"b": 1, "a": 2.5, "c": "x", "d": True},
        items=[
            {"externalProductId": "prod_123", "externalVariantId": "var_456", "quantity": 1, "price": 30},
            {"externalProductId": "prod_123", "externalVariantId": "var_456", "quantity": 1, "price": 29.98},
        ],
    )

    # when
    created = api.post_json(URL, body)

    # then
    assert created.status_code == 201, created.content
    assert created.json() == api.get(f"{URL}/{created.json()['data']['id']}").json()


def test_order_numbers_are_sequential_per_store(api, store, variant):
    # given
    customer = CustomerFactory(store=store)

    # when
    numbers = [
        api.post_json(URL, seed_body(customer.id, externalOrderId=f"o-{i}")).json()["data"]["orderNumber"]
        for i in range(3)
    ]

    # then
    assert numbers == ["ORD-000001", "ORD-000002", "ORD-000003"]


def test_without_external_id_every_call_creates(api, store, variant):
    # given
    body = seed_body(CustomerFactory(store=store).id)
    del body["externalOrderId"]

    # when
    statuses = [api.post_json(URL, body).status_code for _ in range(2)]

    # then
    assert statuses == [201, 201]
    assert Order.objects.filter(store=store, external_id__isnull=True).count() == 2


def test_total_off_by_a_cent_is_400_on_total_with_the_expected_value(api, store, variant):
    # given
    body = seed_body(CustomerFactory(store=store).id, total=59.97)

    # when
    response = api.post_json(URL, body)

    # then
    assert response.status_code == 400
    payload = response.json()
    assert payload["errorCode"] == "VALIDATION_ERROR"
    assert payload["errors"][0]["field"] == "total"
    assert "Expected 59.98" in payload["errors"][0]["message"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": []}, "items"),
        (
            {
                "items": [
                    {
                        "externalProductId": "prod_123",
                        "externalVariantId": "var_456",
                        "quantity": 0,
                        "price": 1,
                    }
                ]
            },
            "items[0].quantity",
        ),
        (
            {
                "items": [
                    {
                        "externalProductId": "prod_123",
                        "externalVariantId": "var_456",
                        "quantity": 1,
                        "price": -1,
                    }
                ]
            },
            "items[0].price",
        ),
        (
            {"items": [{"externalProductId": "prod_123", "quantity": 1, "price": 1}]},
            "items[0].externalVariantId",
        ),
        ({"subtotal": 10}, "subtotal"),
        ({"status": "shipped"}, "status"),
        ({"currency": "EURO"}, "currency"),
        ({"customerId": None}, "customerId"),
        ({"customerInfo": {"email": "not-an-email"}}, "customerInfo.email"),
        ({"metadata": {"k": {"nested": True}}}, "metadata.k"),
        ({"total": None}, "total"),
    ],
)
def test_invalid_bodies_are_400_validation_error_naming_the_field(api, store, variant, change, field):
    # given
    customer = CustomerFactory(store=store)
    body = seed_body(customer.id, **change)
    if "customerInfo" in change:
        del body["customerId"]

    # when
    response = api.post_json(URL, body)

    # then
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["errorCode"] == "VALIDATION_ERROR"
    assert field in [e["field"] for e in payload["errors"]]


def test_251_items_is_400(api, store, variant):
    # given
    items = [
        {"externalProductId": "prod_123", "externalVariantId": "var_456", "quantity": 1, "price": 0}
    ] * 251
    body = seed_body(CustomerFactory(store=store).id, items=items, total=0)

    # when
    response = api.post_json(URL, body)

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "items"


def test_unknown_variant_is_404_variant_not_found(api, store, variant):
    # given
    body = seed_body(
        CustomerFactory(store=store).id,
        items=[
            {"externalProductId": "prod_123", "externalVariantId": "var_nope", "quantity": 2, "price": 29.99}
        ],
    )

    # when
    response = api.post_json(URL, body)

    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "VARIANT_NOT_FOUND"


def test_variant_of_another_store_is_404(api, store, other_store):
    # given
    VariantFactory(product__store=other_store, product__external_id="prod_123", external_id="var_456")

    # when
    response = api.post_json(URL, seed_body(CustomerFactory(store=store).id))

    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "VARIANT_NOT_FOUND"


@pytest.mark.parametrize("customer_id", ["not-a-uuid", "6f1c7a8e-0000-4000-8000-000000000000"])
def test_unknown_customer_is_404_customer_not_found(api, store, variant, customer_id):
    # when
    response = api.post_json(URL, seed_body(customer_id))

    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "CUSTOMER_NOT_FOUND"


def test_customer_of_another_store_is_404(api, store, other_store, variant):
    # when
    response = api.post_json(URL, seed_body(CustomerFactory(store=other_store).id))

    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "CUSTOMER_NOT_FOUND"


def test_insufficient_tracked_inventory_is_400_and_nothing_changes(api, store, variant):
    # given
    variant.inventory_quantity = 1
    variant.save()

    # when
    response = api.post_json(URL, seed_body(CustomerFactory(store=store).id))

    # then
    assert response.status_code == 400
    payload = response.json()
    assert payload["errorCode"] == "INSUFFICIENT_INVENTORY"
    assert payload["errors"][0]["field"] == "items[0].quantity"
    variant.refresh_from_db()
    assert variant.inventory_quantity == 1
    assert not Order.objects.exists()
    assert not LineItem.objects.exists()


def item(variant, quantity):
    return {
        "externalProductId": variant.product.external_id,
        "externalVariantId": variant.external_id,
        "quantity": quantity,
        "price": 1,
    }


def stock(*variants) -> list[int]:
    return [Variant.objects.get(pk=v.pk).inventory_quantity for v in variants]


def test_each_tracked_variant_loses_what_its_lines_took_and_untracked_ones_keep_theirs(api, store):
    # given
    first = VariantFactory(product__store=store, inventory_quantity=10)
    second = VariantFactory(product__store=store, inventory_quantity=10)
    untracked = VariantFactory(product__store=store, inventory_quantity=10, track_inventory=False)
    items = [item(first, 2), item(second, 3), item(untracked, 4), item(first, 1)]
    body = seed_body(CustomerFactory(store=store).id, items=items, total=10)

    # when
    response = api.post_json(URL, body)

    # then
    assert response.status_code == 201, response.content
    assert stock(first, second, untracked) == [7, 7, 10]


def test_short_stock_of_one_of_several_variants_names_it_and_takes_nothing_nor_a_number(api, store):
    # given
    plenty = VariantFactory(product__store=store, inventory_quantity=10, sku="PLENTY")
    scarce = VariantFactory(product__store=store, inventory_quantity=1, sku="SCARCE")
    customer = CustomerFactory(store=store)

    # when
    refused = api.post_json(URL, seed_body(customer.id, items=[item(plenty, 2), item(scarce, 2)], total=4))
    accepted = api.post_json(
        URL, seed_body(customer.id, items=[item(plenty, 2)], total=2, externalOrderId="2")
    )

    # then
    assert refused.status_code == 400
    payload = refused.json()
    assert payload["errorCode"] == "INSUFFICIENT_INVENTORY"
    assert payload["errors"] == [
        {"field": "items[1].quantity", "message": "Only 1 of 'SCARCE' in stock; 2 requested."}
    ]
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["data"]["orderNumber"] == "ORD-000001"  # the refused create took no number
    assert stock(plenty, scarce) == [8, 1]


def test_untracked_inventory_is_not_checked(api, store, variant):
    # given
    variant.inventory_quantity = 0
    variant.track_inventory = False
    variant.save()

    # when
    response = api.post_json(URL, seed_body(CustomerFactory(store=store).id))

    # then
    assert response.status_code == 201
    variant.refresh_from_db()
    assert variant.inventory_quantity == 0


def test_missing_key_is_401(anon_api, store, variant):
    # when
    response = anon_api.post_json(URL, seed_body(CustomerFactory(store=store).id))

    # then
    assert response.status_code == 401
    assert not HistoryEntry.objects.exists()


def test_idempotency_key_without_external_id_replays(api, store, variant):
    # given
    body = seed_body(CustomerFactory(store=store).id)
    del body["externalOrderId"]
    first = api.post_json(URL, body, HTTP_IDEMPOTENCY_KEY="create-1")

    # when
    retry = api.post_json(URL, body, HTTP_IDEMPOTENCY_KEY="create-1")

    # then
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["data"]["id"] == first.json()["data"]["id"]
    assert Order.objects.count() == 1
    assert Decimal(str(retry.json()["data"]["total"])) == Decimal("59.98")
