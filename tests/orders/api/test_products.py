"""GET /api/v1/sdk/products/{id} and POST /api/v1/sdk/products/sync."""

from decimal import Decimal

import pytest

from orders.models import Product, Variant
from tests.factories import ProductFactory, VariantFactory
from tests.orders.api.auth_cases import assert_refused, assert_validation_error, client_with, key_kinds

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/sdk/products/sync"


def product(ext: str, *variants: dict, name: str = "Premium T-Shirt") -> dict:
    return {"externalProductId": ext, "name": name, "variants": list(variants)}


def variant(ext: str, price=29.99, **extra) -> dict:
    return {"externalVariantId": ext, "price": price, **extra}


@pytest.mark.parametrize("ref_kind", ["uuid", "external"])
def test_get_product_by_either_identifier(api, store, ref_kind):
    # given
    item = VariantFactory(product__store=store, product__external_id="prod_123", sku="TSHIRT-BLK-M")
    ref = item.product.id if ref_kind == "uuid" else "prod_123"
    # when
    response = api.get(f"/api/v1/sdk/products/{ref}")
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == str(item.product.id)
    assert data["externalProductId"] == "prod_123"
    assert data["variants"] == [
        {
            "id": str(item.id),
            "externalVariantId": item.external_id,
            "sku": "TSHIRT-BLK-M",
            "name": None,
            "price": 29.99,
            "inventoryQuantity": 100,
            "trackInventory": True,
        }
    ]


@pytest.mark.parametrize("ref", ["{other}", "prod_theirs", "00000000-0000-0000-0000-000000000000"])
def test_another_stores_or_unknown_product_is_404(api, other_store, ref):
    # given
    foreign = ProductFactory(store=other_store, external_id="prod_theirs")
    # when
    response = api.get("/api/v1/sdk/products/" + ref.format(other=foreign.id))
    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "PRODUCT_NOT_FOUND"
    assert "data" not in response.json()


def test_sync_creates_then_updates_by_external_id(api, store):
    # given
    first = {
        "products": [
            product(
                "prod_123",
                variant("var_456", sku="TSHIRT-BLK-M", inventoryQuantity=100, trackInventory=True),
                variant("var_457", price=31),
            )
        ]
    }
    second = {
        "products": [product("prod_123", variant("var_456", price=25), name="Renamed"), product("prod_9")]
    }
    # when
    created = api.post_json(SYNC, first)
    updated = api.post_json(SYNC, second)
    # then
    assert created.status_code == 200
    assert (created.json()["data"]["created"], created.json()["data"]["updated"]) == (1, 0)
    assert (updated.json()["data"]["created"], updated.json()["data"]["updated"]) == (1, 1)
    shirt = Product.objects.get(store=store, external_id="prod_123")
    assert shirt.name == "Renamed"
    assert Variant.objects.get(external_id="var_456").price == Decimal("25.00")
    assert Variant.objects.get(external_id="var_457").price == Decimal("31.00")  # not listed: kept
    products = updated.json()["data"]["products"]
    assert [p["externalProductId"] for p in products] == ["prod_123", "prod_9"]
    assert {v["externalVariantId"] for v in products[0]["variants"]} == {"var_456", "var_457"}


def test_sync_does_not_touch_another_stores_catalogue(api, store, other_store):
    # given
    ProductFactory(store=other_store, external_id="prod_1", name="Theirs")
    # when
    response = api.post_json(SYNC, {"products": [product("prod_1", name="Mine")]})
    # then
    assert response.json()["data"]["created"] == 1
    assert Product.objects.get(store=other_store).name == "Theirs"


def test_more_than_100_products_is_too_many(api):
    # when
    response = api.post_json(SYNC, {"products": [product(f"p{i}") for i in range(101)]})
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "TOO_MANY_PRODUCTS"
    assert not Product.objects.exists()


def test_exactly_100_products_sync(api):
    # when
    response = api.post_json(SYNC, {"products": [product(f"p{i}", variant(f"v{i}")) for i in range(100)]})
    # then
    assert response.status_code == 200
    assert response.json()["data"]["created"] == 100
    assert Variant.objects.count() == 100


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"price": -1}, "products[3].variants[0].price"),
        ({"price": "abc"}, "products[3].variants[0].price"),
        ({"price": 1.005}, "products[3].variants[0].price"),
        ({"externalVariantId": ""}, "products[3].variants[0].externalVariantId"),
        ({"inventoryQuantity": -2}, "products[3].variants[0].inventoryQuantity"),
        ({"sku": "A\x00B"}, "products[3].variants[0].sku"),
    ],
)
def test_validation_errors_name_the_field_and_save_nothing(api, bad, field):
    # given
    products = [product(f"p{i}", variant(f"v{i}")) for i in range(4)]
    products[3]["variants"][0].update(bad)
    # when
    response = api.post_json(SYNC, {"products": products})
    # then
    assert_validation_error(response, field)
    assert not Product.objects.exists()


def test_missing_name_and_duplicates_are_named(api):
    # when
    missing = api.post_json(SYNC, {"products": [{"externalProductId": "p1"}]})
    duplicate = api.post_json(
        SYNC, {"products": [product("p1", variant("v1")), product("p1", variant("v1"))]}
    )
    # then
    assert_validation_error(missing, "products[0].name")
    assert_validation_error(duplicate, "products[1].externalProductId")
    assert_validation_error(duplicate, "products[1].variants[0].externalVariantId")
    assert not Product.objects.exists()


def test_malformed_json_is_invalid_request(api):
    # when
    response = api.post(SYNC, "{not json", content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_REQUEST"


@key_kinds
def test_requires_a_private_key(store, key_kind):
    # given
    item = ProductFactory(store=store)
    client = client_with(key_kind, store)
    # when
    got = client.get(f"/api/v1/sdk/products/{item.id}")
    synced = client.post_json(SYNC, {"products": []})
    # then
    assert_refused(got, key_kind)
    assert_refused(synced, key_kind)
