"""Demo data for `manage.py seed_demo`: stores with a catalogue, customers and consistent orders.

Idempotent by store name: a store that already has the requested number of orders is left alone; one
that has fewer (an interrupted run) gets the rest, numbered on from `Store.last_order_number`. Each batch
of 5,000 orders is its own transaction, so an interruption loses at most one batch; a PostgreSQL load of
BULK_LOAD_MIN_ORDERS or more is one transaction (see writer.bulk_load), all or nothing.
"""

import dataclasses
import json
import os
import random
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from orders.auth import api_key_create
from orders.demo.catalogue import STORES, DemoStore
from orders.demo.generate import (
    HISTORY_COLUMNS,
    ITEM_COLUMNS,
    ORDER_COLUMNS,
    REFUND_COLUMNS,
    StoreContext,
    build_batch,
    json_text,
    new_uuid,
    pick_statuses,
    timestamp_text,
)
from orders.demo.parallel import rendered_batches
from orders.demo.writer import Table, bulk_load, copy_data, write_rows
from orders.models import (
    ApiKey,
    Customer,
    HistoryEntry,
    LineItem,
    Order,
    Product,
    Refund,
    SearchedText,
    Store,
    Variant,
)

DEMO_KEY_NAME = "Demo key"
DEMO_DAYS = 90
BATCH_SIZE = 5_000
# From this many orders in one run on PostgreSQL, load like pg_restore: indexes and foreign keys are
# dropped and rebuilt once (in the same transaction), instead of being updated and checked per row.
BULK_LOAD_MIN_ORDERS = 100_000
# The dashboard's demo logins (setup_demo_dashboard) appear as the staff who acted on orders.
STAFF_NAMES = ("admin@demo.test", "support@demo.test")
MIN_CUSTOMERS, MAX_CUSTOMERS = 20, 50_000
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True)
class SeededStore:
    store: Store
    created: bool  # the store did not exist before this run
    orders_created: int
    api_key: str | None  # plaintext of the demo key, only when the store was created now


def demo_store_specs(count: int) -> list[DemoStore]:
    """The first `count` demo stores; beyond the built-in ones, numbered copies of them."""
    specs = []
    for i in range(count):
        base = STORES[i % len(STORES)]
        specs.append(base if i < len(STORES) else dataclasses.replace(base, name=f"{base.name} {i + 1}"))
    return specs


def seed(
    *,
    orders: int,
    stores: int,
    now: datetime | None = None,
    progress: bool = False,
    batch_size: int = BATCH_SIZE,
    random_seed: int | None = None,
) -> list[SeededStore]:
    now = now or timezone.now()
    results = [
        seed_store(
            spec, orders=orders, now=now, progress=progress, batch_size=batch_size, random_seed=random_seed
        )
        for spec in demo_store_specs(stores)
    ]
    if connection.vendor == "postgresql" and sum(r.orders_created for r in results) >= 10_000:
        # Fresh statistics, so the planner picks the list indexes right after a big load.
        with connection.cursor() as cursor:
            for model in (Order, LineItem, HistoryEntry, Refund, Customer):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            # The search's values arrived through the orders' trigger; their GIN indexes' own statistics
            # (kept in the index, used to cost a trigram scan) are brought up to date by VACUUM only.
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(SearchedText._meta.db_table)}")
    return results


def seed_store(
    spec: DemoStore,
    *,
    orders: int,
    now: datetime,
    progress: bool = False,
    batch_size: int = BATCH_SIZE,
    random_seed: int | None = None,
) -> SeededStore:
    """Create the store if needed and top its orders up to `orders`. A `random_seed` makes the data
    reproducible (per store and per top-up, so ids never repeat within a database)."""
    rng = random.Random()  # noqa: S311 - demo data, not secrets
    with transaction.atomic():
        store = Store.objects.filter(name=spec.name).order_by("created_at").first()
        plaintext = None
        created = store is None
        if store is None:
            store = Store.objects.create(name=spec.name, currency=spec.currency, timezone=spec.timezone)
            # Premium: the demo key also serves the dashboard, whose pages make several API calls each.
            plaintext = api_key_create(store=store, name=DEMO_KEY_NAME, tier=ApiKey.Tier.PREMIUM).plaintext
        existing = Order.objects.filter(store=store).count()
        missing = max(orders - existing, 0)
        if random_seed is not None:
            rng.seed(f"{random_seed}:{spec.name}:{existing}")
        if missing and not Product.objects.filter(store=store).exists():
            _create_catalogue(store, spec, rng, now.timestamp())
        if missing and not Customer.objects.filter(store=store).exists():
            count = min(max(orders // 4, MIN_CUSTOMERS), MAX_CUSTOMERS)
            _create_customers(store, spec, rng, now.timestamp(), count=count)
    if missing:
        # Continue after the newest existing order, so numbers and creation times rise together.
        latest = Order.objects.filter(store=store).aggregate(latest=Max("created_at"))["latest"]
        start = now - timedelta(days=DEMO_DAYS)
        if latest is not None:
            start = max(start, latest + timedelta(seconds=1))
        _create_orders(
            _context(store, spec),
            rng,
            count=missing,
            start=start.timestamp(),
            now=now.timestamp(),
            progress=progress,
            batch_size=batch_size,
        )
    return SeededStore(store=store, created=created, orders_created=missing, api_key=plaintext)


def _create_catalogue(store: Store, spec: DemoStore, rng: random.Random, now: float) -> None:
    since, until = timestamp_text(now - (DEMO_DAYS + 60) * 86400), timestamp_text(now)
    store_id = str(store.pk)
    products, variants = [], []
    for name, stem, variant_specs in spec.products:
        product_id = new_uuid(rng)
        products.append((product_id, store_id, f"prod_{stem.lower().replace('-', '_')}", name, since, until))
        for variant_name, suffix, price, tracked in variant_specs:
            sku = f"{stem}-{suffix}"
            stock = str(rng.randrange(20, 400) if tracked else 0)
            external_id = f"var_{sku.lower().replace('-', '_')}"
            variants.append(
                (new_uuid(rng), store_id, product_id, external_id, sku, variant_name, price, stock,
                 "t" if tracked else "f", since, until)
            )  # fmt: skip
    write_rows(
        Table(Product, ("id", "store_id", "external_id", "name", "created_at", "updated_at")), products
    )
    variant_columns = (
        "id", "store_id", "product_id", "external_id", "sku", "name", "price", "inventory_quantity",
        "track_inventory", "created_at", "updated_at",
    )  # fmt: skip
    write_rows(Table(Variant, variant_columns), variants)


def _create_customers(store: Store, spec: DemoStore, rng: random.Random, now: float, *, count: int) -> None:
    locale = spec.locale
    store_id = str(store.pk)
    seen: set[str] = set()
    rows = []
    for i in range(count):
        first, last = rng.choice(locale.first_names), rng.choice(locale.last_names)
        local = f"{first}.{last}".lower().replace(" ", "")
        domain = EMAIL_DOMAINS[i % len(EMAIL_DOMAINS)]
        email, n = f"{local}@{domain}", 1
        while email in seen:
            n += 1
            email = f"{local}{n}@{domain}"
        seen.add(email)
        # Every customer signed up before the first demo order, so no order predates its customer.
        signed_up = timestamp_text(now - DEMO_DAYS * 86400 - rng.uniform(3600, 60 * 86400))
        phone = f"{locale.phone_prefix}{rng.randrange(10, 99)} {rng.randrange(1000, 9999)}"
        rows.append((new_uuid(rng), store_id, email, phone, first, last, signed_up, signed_up))
    columns = (
        "id",
        "store_id",
        "email",
        "phone_number",
        "first_name",
        "last_name",
        "created_at",
        "updated_at",
    )
    write_rows(Table(Customer, columns), rows)


def _address(spec: DemoStore, name: str, seed_value: int) -> str:
    locale = spec.locale
    r = random.Random(seed_value)  # noqa: S311 - the same customer always gets the same address
    city, region, postal = r.choice(locale.cities)
    return json_text(
        {
            "name": name,
            "line1": f"{r.randrange(1, 250)} {r.choice(locale.streets)}",
            "line2": r.choice(("", "", "", "Apt 4B", "Floor 2")),
            "city": city,
            "region": region,
            "postalCode": f"{postal}{r.randrange(10, 99)}",
            "country": locale.country,
        }
    )


def _context(store: Store, spec: DemoStore) -> StoreContext:
    variants = [
        (str(v.product_id), str(v.id), v.product.external_id, v.external_id, f"{v.product.name} ({v.name})",
         v.sku, v.price)
        for v in Variant.objects.filter(store=store).select_related("product").order_by("sku")
    ]  # fmt: skip
    customers = [
        (
            str(pk),
            email,
            f"{first} {last}".strip(),
            _address(spec, f"{first} {last}", zlib.crc32(email.encode())),
        )
        for pk, email, first, last in Customer.objects.filter(store=store)
        .order_by("created_at", "id")
        .values_list("id", "email", "first_name", "last_name")
    ]
    # A few loyal customers order often, most once or twice (a Zipf-like tail).
    cum_weights = list(accumulate(1.0 / (1 + i) ** 0.8 for i in range(len(customers))))
    key = ApiKey.objects.filter(store=store, kind=ApiKey.Kind.SECRET).order_by("created_at").first()
    prefix, key_name = (key.prefix, key.name) if key else ("", DEMO_KEY_NAME)
    user = HistoryEntry.ActorType.USER
    return StoreContext(
        store_id=str(store.pk),
        spec=spec,
        variants=variants,
        customers=customers,
        customer_cum_weights=cum_weights,
        api_key_actor=(HistoryEntry.ActorType.API_KEY, key_name, prefix),
        staff_actors=[(user, name, prefix) for name in STAFF_NAMES],
        system_actor=(HistoryEntry.ActorType.SYSTEM, "system", ""),
    )


def _create_orders(
    ctx: StoreContext,
    rng: random.Random,
    *,
    count: int,
    start: float,
    now: float,
    progress: bool,
    batch_size: int,
) -> None:
    span = max(now - start - 60.0, 1.0)
    created = sorted(start + rng.random() * span for _ in range(count))
    statuses = pick_statuses(rng, created, now)
    tables = (
        (Table(Order, ORDER_COLUMNS), "orders"),
        (Table(LineItem, ITEM_COLUMNS), "items"),
        (Table(HistoryEntry, HISTORY_COLUMNS), "history"),
        (Table(Refund, REFUND_COLUMNS), "refunds"),
    )
    bar = _Progress(total=count, desc=ctx.spec.name, unit="order", disable=not progress, mininterval=0.5)
    with bar:
        if connection.vendor == "postgresql" and count >= BULK_LOAD_MIN_ORDERS:
            # One transaction: all or nothing, and the indexes are rebuilt once instead of updated per row.
            with transaction.atomic(), bulk_load([table for table, _ in tables], progress=bar):
                store = Store.objects.select_for_update().get(pk=ctx.store_id)
                batches = rendered_batches(
                    ctx=ctx, rng=rng, first_number=store.last_order_number + 1, created=created,
                    statuses=statuses, now=now, tables=tables, batch_size=batch_size,
                )  # fmt: skip
                for done, texts in batches:
                    for (table, _), text in zip(tables, texts, strict=True):
                        copy_data(table, text)
                    bar.update(done)
                Store.objects.filter(pk=store.pk).update(last_order_number=store.last_order_number + count)
            return
        # A transaction per batch: an interrupted run keeps what it wrote and the next run continues.
        for lo, hi in _batches(count, batch_size):
            with transaction.atomic():
                store = Store.objects.select_for_update().get(pk=ctx.store_id)
                batch = build_batch(
                    ctx, rng, first_number=store.last_order_number + 1, created=created[lo:hi],
                    statuses=statuses[lo:hi], now=now,
                )  # fmt: skip
                for table, name in tables:
                    write_rows(table, getattr(batch, name))
                Store.objects.filter(pk=store.pk).update(
                    last_order_number=store.last_order_number + (hi - lo)
                )
            bar.update(hi - lo)


class _Progress(tqdm):
    # No monitor thread: the bulk load forks workers, and forking a multi-threaded process is unsafe.
    monitor_interval = 0


def _batches(count: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, count, size):
        yield lo, min(lo + size, count)


def write_credentials(path: Path, seeded: list[SeededStore]) -> None:
    """Merge the new demo keys into the JSON credentials file (a local dev file; the only copy of a key).

    Entries of stores that no longer exist in this database (a deleted dev database) are dropped.
    """
    entries: dict[str, dict] = {}
    if path.exists():
        try:
            for entry in json.loads(path.read_text()).get("stores", []):
                if isinstance(entry, dict) and entry.get("storeId"):
                    entries[str(entry["storeId"])] = entry
        except (ValueError, AttributeError):
            entries = {}  # unreadable: rewritten from what this run knows
    for result in seeded:
        if result.api_key:
            store = result.store
            entries[str(store.pk)] = {
                "storeId": str(store.pk),
                "name": store.name,
                "slug": slugify(store.name),
                "timezone": store.timezone,
                "currency": store.currency,
                "apiKey": result.api_key,
            }
    valid_ids = []
    for store_id in entries:
        try:
            valid_ids.append(uuid.UUID(store_id))
        except ValueError:
            continue
    alive = {str(pk) for pk in Store.objects.filter(pk__in=valid_ids).values_list("pk", flat=True)}
    data = {"stores": [entry for store_id, entry in entries.items() if store_id in alive]}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary file and renamed, readable by the owner only: it holds live keys.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
