"""Another store's key on this store's objects: every operation that takes an id in its path answers 404
in the envelope and changes nothing (spec §2: another store's object is indistinguishable from a missing
one). The operations are read from the served OpenAPI document, so a new one is covered the day it is
documented; path_objects.PATH_VALUES says how to make the object each path parameter names, and the
test fails for a parameter it does not know.

Each case also makes the same call with the owner's key: it must not be a 404, which proves the ids and
the body are real and the 404 came from the store scoping alone.
"""

import json

import pytest
from django.test import Client

from tests.conftest import ApiClient
from tests.factories import StoreFactory
from tests.orders.api.path_objects import (
    PATH_VALUES,
    make_store_objects,
    path_parameters,
    path_values,
    store_state,
)

pytestmark = pytest.mark.django_db

DOCUMENT = Client().get("/api/v1/openapi.json").json()
# Not an object id: the SDK paths' store scope, which is the caller's own store in these calls.
SCOPE_PARAMETER = "store_id"
# A body each write would accept from the owner, by operationId (SDK twins share their operation's).
VALID_BODIES = {
    "update_order_status": {"status": "processing", "note": "Cross-store attempt"},
    "cancel_order": {"reason": "Cross-store attempt", "refundAmount": 1},
    "create_refund": {"amount": 1, "reason": "Cross-store attempt"},
    "link_order": {"externalOrderId": "ext-a", "platformName": "shop"},
    "update_order_metadata": {"metadata": {"crossStore": "attempt"}},
    "update_webhook": {"description": "Cross-store attempt", "enabled": False},
}


def _operations_with_ids():
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            names = path_parameters(operation)
            if set(names) - {SCOPE_PARAMETER}:
                yield method, path, operation, names


def _cases():
    for method, path, operation, names in _operations_with_ids():
        ways = [list(PATH_VALUES.get(n, {"?": None})) for n in names]
        for way in range(max(len(w) for w in ways)):
            label = ", ".join(
                w[min(way, len(w) - 1)] for n, w in zip(names, ways, strict=True) if n != SCOPE_PARAMETER
            )
            yield pytest.param(method, path, operation, way, id=f"{method.upper()} {path} by {label}")


@pytest.fixture
def victim(db):
    return make_store_objects(StoreFactory(name="Victim", currency="USD", timezone="UTC"), label="a")


@pytest.fixture
def intruder(db):
    return make_store_objects(StoreFactory(name="Intruder", currency="USD", timezone="UTC"), label="b")


def _url(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(client: Client, method: str, path: str, operation: dict):
    operation_id = operation["operationId"].removeprefix("sdk_")
    if "requestBody" not in operation:
        return client.generic(method.upper(), path)
    assert operation_id in VALID_BODIES, f"add a body {operation_id} accepts to VALID_BODIES"
    body = json.dumps(VALID_BODIES[operation_id])
    return client.generic(method.upper(), path, body, content_type="application/json")


def test_every_id_taking_operation_is_in_the_matrix():
    # given the document's operations with an id in their path
    operations = list(_operations_with_ids())
    # then each parameter has a way to make a real object, and the matrix is not empty
    assert len(operations) >= 20
    unknown = {n for _, _, _, names in operations for n in names} - set(PATH_VALUES)
    assert not unknown, f"add these path parameters to path_objects.PATH_VALUES: {sorted(unknown)}"
    for _, _, operation, _ in operations:
        required_queries = [
            p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")
        ]
        assert not required_queries, (
            f"{operation['operationId']}: give the matrix values for {required_queries}"
        )


@pytest.mark.parametrize(("method", "path", "operation", "way"), list(_cases()))
def test_another_stores_key_gets_404_and_changes_nothing(method, path, operation, way, victim, intruder):
    # given the victim store's object named in the path, and the intruder's key naming its own scope
    values = path_values(victim, path_parameters(operation), way)
    if SCOPE_PARAMETER in values:
        values[SCOPE_PARAMETER] = str(intruder.store.id)
    before = (store_state(victim.store), store_state(intruder.store))
    # when
    response = _call(ApiClient(intruder.key), method, _url(path, values), operation)
    # then a 404 in the envelope with one of the operation's documented codes, and nothing changed
    assert response.status_code == 404, (response.status_code, response.content)
    body = response.json()
    assert body["success"] is False
    assert "data" not in body
    assert body["errorCode"] in operation["responses"]["404"]["x-errorCodes"]
    assert (store_state(victim.store), store_state(intruder.store)) == before
    # and the owner's key, with the same ids and body, reaches the object (the 404 was the scoping)
    if SCOPE_PARAMETER in values:
        values[SCOPE_PARAMETER] = str(victim.store.id)
    control = _call(ApiClient(victim.key), method, _url(path, values), operation)
    assert control.status_code != 404, control.content
    assert control.status_code < 500, control.content


@pytest.mark.parametrize(
    ("method", "path", "operation", "way"),
    [case for case in _cases() if SCOPE_PARAMETER in path_parameters(case.values[2])],
)
def test_naming_another_store_in_an_sdk_path_is_403_and_changes_nothing(
    method, path, operation, way, victim, intruder
):
    # given the victim store named as the scope of an SDK path, with the intruder's key
    values = path_values(victim, path_parameters(operation))
    before = (store_state(victim.store), store_state(intruder.store))
    # when
    response = _call(ApiClient(intruder.key), method, _url(path, values), operation)
    # then
    assert response.status_code == 403, (response.status_code, response.content)
    assert response.json()["errorCode"] == "NO_STORE_ACCESS"
    assert (store_state(victim.store), store_state(intruder.store)) == before
