"""A store for the saved-view, keyboard and accessibility browser tests: an order in every status of a
support team's day, a webhook endpoint, and one member per role that the tests sign in as."""

import re
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model

from dashboard.models import Membership, StoreConnection
from orders.auth import api_key_create
from tests.dashboard.test_webhooks_pages import make_endpoint_with_delivery
from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order

PASSWORD = "demo-password-123"
SLUG = "vesuvio-coffee"
# Oldest first; ORD-000001 … ORD-000010 in this order.
STATUSES = [
    "pending",
    "confirmed",
    "processing",
    "partially_shipped",
    "shipped",
    "delivered",
    "cancelled",
    "pending",
    "confirmed",
    "partially_delivered",
]


def make_team_shop() -> dict:
    store = StoreFactory(name="Vesuvio Coffee", currency="EUR", timezone="Europe/Rome")
    key = api_key_create(store=store, name="Dashboard").plaintext
    connection = StoreConnection(name=store.name, slug=SLUG, timezone=store.timezone)
    connection.set_api_key(key)
    connection.save()
    users = {}
    for role, first in (("admin", "Marta"), ("support", "Paolo"), ("viewer", "Anna")):
        email = f"{role}@demo.test"
        users[role] = get_user_model().objects.create_user(email, email, PASSWORD, first_name=first)
        Membership.objects.create(user=users[role], store=connection, role=role)
    beans = VariantFactory(
        product__store=store, product__name="Espresso beans 1 kg", sku="BEANS-1KG", price=Decimal("24.90")
    )
    names = ["Giulia Bianchi", "Marco Rossi", "Sofia Ricci", "Luca Greco", "Anna Conti"]
    orders = []
    for i, status in enumerate(STATUSES):
        first, last = names[i % len(names)].split()
        customer = CustomerFactory(store=store, first_name=first, last_name=last)
        orders.append(
            make_order(
                store,
                status=status,
                customer=customer,
                items=[(beans, 1 + i % 3)],
                shipping=Decimal("4.90"),
                created_at=datetime(2024, 5, 1 + i, 9, 30, tzinfo=UTC),
            )
        )
    endpoint, _ = make_endpoint_with_delivery(store)
    return {"store": store, "connection": connection, "users": users, "orders": orders, "endpoint": endpoint}


def sign_in(page, live_server, role: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(f"{role}@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/stores/{SLUG}/"))
