"""Real objects behind the API's path parameters, for tests driven by the OpenAPI document (the
schemathesis run and the cross-store matrix).

`PATH_VALUES` maps each path parameter name of the document to the ways a store's object can be named
in it (an order by UUID and by external ID, …). A new operation whose path parameter is not listed here
makes those tests fail until a way to make its object is added: an id that is never real tests nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.forms.models import model_to_dict

from orders.auth import api_key_create
from orders.models import (
    Customer,
    HistoryEntry,
    IdempotencyRecord,
    Order,
    Product,
    Refund,
    Store,
    Variant,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from orders.webhooks import endpoints, events, outbox
from tests.factories import CustomerFactory, VariantFactory, make_order

# Nothing listens here: a send to it is refused at once, so no test waits on the network.
UNREACHABLE_URL = "http://127.0.0.1:9/hook"


@dataclass
class StoreObjects:
    """One store with a private key and one object of every kind a path can name."""

    store: Store
    key: str
    order: Order
    customer: Customer
    product: Product
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery


def make_store_objects(store: Store, *, label: str = "a") -> StoreObjects:
    customer = CustomerFactory(store=store, email=f"path-{label}@example.com")
    variant = VariantFactory(
        product__store=store, product__external_id=f"prod-{label}", price=Decimal("10.00")
    )
    order = make_order(
        store, customer=customer, items=[(variant, 2)], external_id=f"ext-{label}", platform_name="shop"
    )
    endpoint = endpoints.endpoint_create(
        store=store, url=UNREACHABLE_URL, event_types=list(events.REGISTRY), description=label
    ).endpoint
    event = outbox.record_event(
        order=None,
        store_id=store.id,
        event_type=events.TEST_EVENT,
        data={"storeId": str(store.id), "webhookId": str(endpoint.id)},
        endpoints=[endpoint],
        dispatch=False,
    )
    return StoreObjects(
        store=store,
        key=api_key_create(store=store, name=f"Key {label}").plaintext,
        order=order,
        customer=customer,
        product=variant.product,
        endpoint=endpoint,
        delivery=WebhookDelivery.objects.get(event=event, endpoint=endpoint),
    )


# Path parameter → each way a store's object can be named in it (every form the API accepts).
PATH_VALUES: dict[str, dict[str, Callable[[StoreObjects], str]]] = {
    "order_id": {"uuid": lambda o: str(o.order.id), "external id": lambda o: str(o.order.external_id)},
    "customer_id": {"uuid": lambda o: str(o.customer.id)},
    "email": {"email": lambda o: o.customer.email},
    "product_id": {"uuid": lambda o: str(o.product.id), "external id": lambda o: o.product.external_id},
    "webhook_id": {"uuid": lambda o: str(o.endpoint.id)},
    "delivery_id": {"uuid": lambda o: str(o.delivery.id)},
    # Not an object but the scope the SDK paths name: the key's own store.
    "store_id": {"uuid": lambda o: str(o.store.id)},
}


def path_values(objects: StoreObjects, names: list[str], way: int = 0) -> dict[str, str]:
    """Each path parameter named the `way`-th way it can be (or its last way, when it has fewer)."""
    values = {}
    for name in names:
        ways = list(PATH_VALUES[name].values())
        values[name] = ways[min(way, len(ways) - 1)](objects)
    return values


def path_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]


def store_state(store: Store) -> dict[str, Any]:
    """Everything an operation on a store's objects could change, to compare before and after."""

    def rows(model, **filters) -> list[dict]:
        return [model_to_dict(obj) | {"pk": obj.pk} for obj in model.objects.filter(**filters).order_by("pk")]

    return {
        "orders": [
            row | {"updated_at": order.updated_at, "metadata": order.metadata}
            for order, row in (
                (o, model_to_dict(o)) for o in Order.objects.filter(store=store).order_by("pk")
            )
        ],
        "history": rows(HistoryEntry, store=store),
        "refunds": rows(Refund, store=store),
        "customers": rows(Customer, store=store),
        "products": rows(Product, store=store),
        "variants": rows(Variant, store=store),
        "endpoints": [
            row | {"updated_at": endpoint.updated_at, "secret_encrypted": endpoint.secret_encrypted}
            for endpoint, row in (
                (e, model_to_dict(e)) for e in WebhookEndpoint.objects.filter(store=store).order_by("pk")
            )
        ],
        "events": rows(WebhookEvent, store_id=store.id),
        "deliveries": rows(WebhookDelivery, endpoint__store=store),
        "idempotency": rows(IdempotencyRecord, store=store),
    }
