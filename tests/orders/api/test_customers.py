"""Customer reads: GET /api/v1/customers, /customers/{id}, /customers/by-email/{email}."""

import pytest

from tests.factories import CustomerFactory, make_order
from tests.orders.api.auth_cases import assert_refused, assert_validation_error, client_with, key_kinds

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers"


def test_get_customer_by_id_with_orders_count(api, store):
    # given
    customer = CustomerFactory(store=store, email="ada@example.com", first_name="Ada", last_name="Lovelace")
    make_order(store, customer=customer)
    make_order(store, customer=customer)
    # when
    response = api.get(f"{LIST}/{customer.id}")
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data == {
        "id": str(customer.id),
        "email": "ada@example.com",
        "phoneNumber": customer.phone_number,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "createdAt": data["createdAt"],
        "ordersCount": 2,
    }
    assert data["createdAt"].endswith("Z")


def test_get_customer_by_email_is_case_insensitive(api, store):
    # given
    customer = CustomerFactory(store=store, email="grace@example.com")
    # when
    response = api.get(f"{LIST}/by-email/Grace@Example.COM")
    # then
    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(customer.id)
    assert response.json()["data"]["ordersCount"] == 0


def test_list_searches_email_and_names_newest_first(api, store, other_store):
    # given
    ada = CustomerFactory(store=store, email="ada@example.com", first_name="Ada", last_name="Lovelace")
    CustomerFactory(store=store, email="alan@example.com", first_name="Alan", last_name="Turing")
    CustomerFactory(store=store, email="x@example.com", first_name="Lovelace", last_name="Fan")
    CustomerFactory(store=other_store, email="ada@other.com", first_name="Ada")
    # when
    everyone = api.get(LIST).json()["data"]
    found = api.get(LIST, {"search": "lovelace"}).json()["data"]
    # then
    assert everyone["total"] == 3
    assert [c["email"] for c in everyone["customers"]][-1] == "ada@example.com"
    assert {c["email"] for c in found["customers"]} == {"ada@example.com", "x@example.com"}
    assert ada.email in {c["email"] for c in found["customers"]}
    assert found["hasMore"] is False


def test_list_pages_with_limit_and_offset(api, store):
    # given
    for _ in range(3):
        CustomerFactory(store=store)
    # when
    page = api.get(LIST, {"limit": 2, "offset": 1}).json()["data"]
    # then
    assert len(page["customers"]) == 2
    assert (page["total"], page["limit"], page["offset"], page["hasMore"]) == (3, 2, 1, False)


@pytest.mark.parametrize(
    "path",
    ["{id}", "by-email/{email}", "00000000-0000-0000-0000-000000000000", "not-a-uuid", "by-email/no@x.com"],
)
def test_another_stores_or_unknown_customer_is_404(api, other_store, path):
    # given
    foreign = CustomerFactory(store=other_store)
    # when
    response = api.get(f"{LIST}/" + path.format(id=foreign.id, email=foreign.email))
    # then
    assert response.status_code == 404
    body = response.json()
    assert body["errorCode"] == "CUSTOMER_NOT_FOUND"
    assert "data" not in body


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": 0}, "limit"), ({"limit": 51}, "limit"), ({"offset": -1}, "offset")]
)
def test_bad_paging_is_400_naming_the_field(api, params, field):
    # when
    response = api.get(LIST, params)
    # then
    assert_validation_error(response, field)


@key_kinds
@pytest.mark.parametrize("path", ["", "/{id}", "/by-email/{email}"])
def test_requires_a_private_key(store, key_kind, path):
    # given
    customer = CustomerFactory(store=store)
    # when
    response = client_with(key_kind, store).get(LIST + path.format(id=customer.id, email=customer.email))
    # then
    assert_refused(response, key_kind)
