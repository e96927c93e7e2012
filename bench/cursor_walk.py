"""Walk every order of a 10,000-order store with `cursor` while new orders are being created, and report
the pre-existing orders missed or repeated (both must be 0). Seeds the store when needed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/walk10k .venv/bin/python bench/cursor_walk.py
"""

import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("RATE_LIMIT_ENABLED", "false")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from orders.auth import api_key_create  # noqa: E402
from orders.models import Order, Store, Variant  # noqa: E402

STORE = "Vesuvio Coffee"


def create_orders_until(stop: threading.Event, key: str, variant: Variant, created: list[str]) -> None:
    client = Client(HTTP_X_API_KEY=key)
    item = {
        "externalProductId": variant.product.external_id,
        "externalVariantId": variant.external_id,
        "quantity": 1,
        "price": "10.00",
    }
    n = 0
    while not stop.is_set():
        n += 1
        body = {
            "externalOrderId": f"walk-{time.time_ns()}-{n}",
            "customerInfo": {"email": f"walker{n}@example.com"},
            "items": [item],
            "total": "10.00",
            "status": "pending",
        }
        response = client.post("/api/v1/orders", body, content_type="application/json")
        if response.status_code == 201:
            created.append(response.json()["data"]["id"])
        time.sleep(0.005)
    connection.close()


def main() -> None:
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", "--orders", "10000", "--stores", "1", stdout=quiet, stderr=quiet)
    store = Store.objects.get(name=STORE)
    before = set(Order.objects.filter(store=store).values_list("id", flat=True))
    key = api_key_create(store=store, name="cursor walk", tier="premium").plaintext
    variant = Variant.objects.filter(store=store, track_inventory=False).select_related("product").first()
    variant = variant or Variant.objects.filter(store=store).select_related("product").first()
    stop, created = threading.Event(), []
    writer = threading.Thread(target=create_orders_until, args=(stop, key, variant, created))
    writer.start()
    client = Client(HTTP_X_API_KEY=key)
    seen: list[uuid.UUID] = []
    cursor, pages = None, 0
    try:
        while True:
            params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            data = client.get("/api/v1/orders", params).json()["data"]
            seen += [uuid.UUID(o["id"]) for o in data["orders"]]
            pages += 1
            cursor = data["nextCursor"]
            if not cursor:
                break
    finally:
        stop.set()
        writer.join()
    print(
        f"orders before the walk: {len(before)}; pages walked: {pages}; created during the walk: {len(created)}"
    )
    print(
        f"pre-existing orders seen: {len(before & set(seen))} of {len(before)}"
        f" | missing: {len(before - set(seen))} | repeated: {len(seen) - len(set(seen))}"
    )


if __name__ == "__main__":
    main()
