"""The management commands: createstore, createapikey, revokeapikey and seed_demo (its data's consistency)."""

import json
import stat
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from orders import demo
from orders.auth import api_key_authenticate, api_key_create, hash_key
from orders.models import ApiKey, Customer, HistoryEntry, LineItem, Order, Refund, Store
from orders.statuses import OrderStatus, PaymentStatus
from tests.orders.transition_table import STATUSES, allowed

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


# --- createstore ---------------------------------------------------------------------------------------


def test_createstore_creates_a_store_and_a_working_private_key():
    # when
    output = run("createstore", "Corner Shop", "--currency", "eur", "--timezone", "Europe/Rome")

    # then
    store = Store.objects.get(name="Corner Shop")
    assert (store.currency, store.timezone) == ("EUR", "Europe/Rome")
    plaintext = next(word for word in output.split() if word.startswith("sk_test_"))
    api_key = api_key_authenticate(plaintext)
    assert api_key is not None
    assert api_key.store == store
    assert api_key.kind == ApiKey.Kind.SECRET
    assert str(store.pk) in output


def test_createstore_json_prints_exactly_store_id_and_api_key():
    # when
    data = json.loads(run("createstore", "Json Shop", "--json"))

    # then
    assert set(data) == {"storeId", "apiKey"}
    store = Store.objects.get(pk=data["storeId"])
    assert (store.currency, store.timezone) == ("USD", "UTC")
    assert data["apiKey"].startswith("sk_test_")
    assert api_key_authenticate(data["apiKey"]).store == store


def test_the_database_holds_only_the_prefix_and_hash_of_a_key():
    # given
    data = json.loads(run("createstore", "Secret Shop", "--json"))
    plaintext = data["apiKey"]

    # when
    api_key = ApiKey.objects.get(store_id=data["storeId"])
    stored_values = [
        str(value)
        for model in (ApiKey, Store)
        for row in model.objects.values_list()
        for value in row
        if value is not None
    ]

    # then
    assert api_key.prefix == plaintext[:16]
    assert api_key.key_hash == hash_key(plaintext)
    assert not any(plaintext in value for value in stored_values)
    assert not any(plaintext[16:] in value for value in stored_values)


@pytest.mark.parametrize("currency", ["US", "DOLLARS", "U$D", "12A", ""])
def test_createstore_refuses_a_currency_that_is_not_three_letters(currency):
    # when / then
    with pytest.raises(CommandError, match="3-letter"):
        run("createstore", "Bad Currency", "--currency", currency)
    assert not Store.objects.exists()


@pytest.mark.parametrize("tz", ["Mars/Olympus", "Europe/Nowhere", "../etc/passwd", "not a zone"])
def test_createstore_refuses_an_unknown_timezone(tz):
    # when / then
    with pytest.raises(CommandError, match="Unknown timezone"):
        run("createstore", "Bad Zone", "--timezone", tz)
    assert not Store.objects.exists()


def test_createstore_refuses_an_empty_name():
    # when / then
    with pytest.raises(CommandError, match="empty"):
        run("createstore", "   ")


# --- createapikey ---------------------------------------------------------------------------------------


def test_createapikey_creates_a_private_standard_key_by_default(store):
    # when
    output = run("createapikey", str(store.pk), "--name", "Warehouse")

    # then
    plaintext = next(word for word in output.split() if word.startswith("sk_test_"))
    api_key = api_key_authenticate(plaintext)
    assert (api_key.store, api_key.name, api_key.kind, api_key.tier) == (
        store,
        "Warehouse",
        ApiKey.Kind.SECRET,
        ApiKey.Tier.STANDARD,
    )


def test_createapikey_json_public_premium(store):
    # when
    data = json.loads(run("createapikey", str(store.pk), "--public", "--tier", "premium", "--json"))

    # then
    assert set(data) == {"storeId", "apiKey", "prefix", "name", "kind", "tier"}
    assert data["storeId"] == str(store.pk)
    assert data["apiKey"].startswith("pk_test_")
    assert data["prefix"] == data["apiKey"][:16]
    assert (data["kind"], data["tier"]) == ("public", "premium")
    api_key = ApiKey.objects.get(prefix=data["prefix"])
    assert api_key.key_hash == hash_key(data["apiKey"])


def test_createapikey_for_an_unknown_store_says_so(db):
    # when / then
    with pytest.raises(CommandError, match="No store with ID"):
        run("createapikey", "7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert not ApiKey.objects.exists()


def test_createapikey_with_a_malformed_store_id_says_what_to_pass(db):
    # when / then
    with pytest.raises(CommandError, match="not a store ID"):
        run("createapikey", "store-1")


def test_createapikey_refuses_an_unknown_tier(store):
    # when / then
    with pytest.raises(CommandError, match="invalid choice"):
        run("createapikey", str(store.pk), "--tier", "gold")


# --- revokeapikey ---------------------------------------------------------------------------------------


def test_revokeapikey_revokes_the_key(issued_key):
    # when
    output = run("revokeapikey", issued_key.api_key.prefix)

    # then
    assert "Revoked" in output
    assert api_key_authenticate(issued_key.plaintext) is None
    issued_key.api_key.refresh_from_db()
    assert issued_key.api_key.revoked_at is not None


def test_revokeapikey_with_an_unknown_prefix_says_so(issued_key):
    # when / then
    with pytest.raises(CommandError, match="No API key with prefix"):
        run("revokeapikey", "sk_test_Nope1234")
    assert api_key_authenticate(issued_key.plaintext) is not None


def test_revokeapikey_of_a_revoked_key_says_it_is_revoked_already(issued_key):
    # given
    run("revokeapikey", issued_key.api_key.prefix)

    # when / then
    with pytest.raises(CommandError, match="already revoked"):
        run("revokeapikey", issued_key.api_key.prefix)


# --- seed_demo ------------------------------------------------------------------------------------------


def _seed_demo(credentials) -> str:
    # A fixed seed: every run checks the same data, which holds each case the tests look for (with a
    # random one, 60 orders now and then held no cancelled and refunded order).
    return run(
        "seed_demo",
        "--orders",
        "60",
        "--stores",
        "2",
        "--seed",
        "1",
        "--credentials",
        str(credentials),
        verbosity=0,
    )


@pytest.fixture
def seeded(tmp_path):
    credentials = tmp_path / "demo-credentials.json"
    output = _seed_demo(credentials)
    return output, credentials


def test_seed_demo_creates_the_stores_with_catalogue_customers_and_orders(seeded):
    # then
    stores = {s.name: s for s in Store.objects.all()}
    assert set(stores) == {"Vesuvio Coffee", "Napoli Apparel"}
    assert (stores["Vesuvio Coffee"].currency, stores["Vesuvio Coffee"].timezone) == (
        "USD",
        "America/New_York",
    )
    assert (stores["Napoli Apparel"].currency, stores["Napoli Apparel"].timezone) == ("EUR", "Europe/Rome")
    for store in stores.values():
        assert store.orders.count() == 60
        assert store.products.exists()
        assert store.variants.filter(track_inventory=True, inventory_quantity__gt=0).exists()
        assert store.customers.count() >= demo.MIN_CUSTOMERS
        assert set(store.orders.values_list("status", flat=True)) == set(STATUSES)
        assert set(store.orders.values_list("currency", flat=True)) == {store.currency}
    # Reserved example domains only: demo data can never mail a real person.
    domains = {email.split("@")[1] for email in Customer.objects.values_list("email", flat=True)}
    assert domains <= set(demo.EMAIL_DOMAINS)
    assert set(Order.objects.values_list("customer_email", flat=True)) <= set(
        Customer.objects.values_list("email", flat=True)
    )


def assert_totals_add_up() -> None:
    items = defaultdict(list)
    for order_id, quantity, price, subtotal in LineItem.objects.values_list(
        "order_id", "quantity", "price", "subtotal"
    ):
        items[order_id].append((quantity, price, subtotal))
    for order in Order.objects.all():
        lines = items[order.id]
        assert lines, f"{order} has no items"
        assert all(subtotal == quantity * price for quantity, price, subtotal in lines)
        assert order.subtotal == sum(subtotal for _, _, subtotal in lines)
        assert order.item_count == sum(quantity for quantity, _, _ in lines)
        assert order.total == order.subtotal + order.tax + order.shipping - order.discount
        assert order.total > 0


def test_seed_demo_orders_add_up(seeded):
    # then
    assert_totals_add_up()


def _replay(order: Order, entries: list[HistoryEntry], refunds: list[Refund]) -> None:
    """Walk the history and check each step against the transition table and the refunds."""
    created, *rest = entries
    assert (created.kind, created.from_status) == (HistoryEntry.Kind.CREATED, None)
    assert created.changed_at == order.created_at
    status = created.to_status
    refunded = Decimal("0.00")
    refund_amounts = iter(sorted(refunds, key=lambda r: r.created_at))
    previous_time = created.changed_at
    for entry in rest:
        assert entry.changed_at > previous_time, f"{order}: history not in increasing time"
        previous_time = entry.changed_at
        assert entry.from_status == status, (
            f"{order}: entry starts from {entry.from_status}, order was {status}"
        )
        if entry.kind == HistoryEntry.Kind.REFUND:
            refund = next(refund_amounts)
            refunded += refund.amount
            assert entry.metadata["refundId"] == str(refund.id)
            assert Decimal(str(entry.metadata["amount"])) == refund.amount
            if status == OrderStatus.DELIVERED and refunded == order.total:
                assert entry.to_status == OrderStatus.REFUNDED
            else:
                assert entry.to_status == status
        else:
            assert entry.kind in (HistoryEntry.Kind.STATUS, HistoryEntry.Kind.CANCEL)
            assert entry.to_status in allowed(status), (
                f"{order}: {status} → {entry.to_status} is not in the transition table"
            )
            assert (entry.kind == HistoryEntry.Kind.CANCEL) == (entry.to_status == OrderStatus.CANCELLED)
            if entry.kind == HistoryEntry.Kind.CANCEL:
                assert entry.note, "a cancel carries its reason"
                assert entry.note == order.cancel_reason
                assert entry.changed_at == order.cancelled_at
        assert entry.actor_type in HistoryEntry.ActorType.values
        assert entry.actor_name
        status = entry.to_status
    assert status == order.status
    assert previous_time == order.updated_at
    assert next(refund_amounts, None) is None, f"{order}: a refund has no history entry"


def assert_history_replays() -> None:
    history = defaultdict(list)
    for entry in HistoryEntry.objects.order_by("changed_at", "id"):
        history[entry.order_id].append(entry)
    refunds = defaultdict(list)
    for refund in Refund.objects.all():
        refunds[refund.order_id].append(refund)
    for order in Order.objects.all():
        _replay(order, history[order.id], refunds[order.id])


def test_seed_demo_history_replays_along_the_transition_table(seeded):
    # then
    assert_history_replays()
    actor_types = set(HistoryEntry.objects.values_list("actor_type", flat=True))
    assert actor_types == {"system", "api_key", "user"}


def assert_payments_follow_orders_and_refunds() -> None:
    refunded = defaultdict(lambda: Decimal("0.00"))
    for refund in Refund.objects.all():
        assert refund.status == Refund.Status.SUCCEEDED
        assert refund.processed_at >= refund.created_at
        assert refund.store_id == refund.order.store_id
        refunded[refund.order_id] += refund.amount
    confirmed = set(
        HistoryEntry.objects.filter(to_status=OrderStatus.CONFIRMED).values_list("order_id", flat=True)
    )
    for order in Order.objects.all():
        assert order.refunded_amount == refunded[order.id]
        assert order.refunded_amount <= order.total
        if order.id not in confirmed:  # never confirmed: pending, or cancelled while pending
            assert (order.payment_status, order.paid_at, order.refunded_amount) == (
                PaymentStatus.UNPAID,
                None,
                Decimal("0.00"),
            )
            continue
        assert order.paid_at is not None
        expected = (
            PaymentStatus.PAID
            if order.refunded_amount == 0
            else PaymentStatus.REFUNDED
            if order.refunded_amount == order.total
            else PaymentStatus.PARTIALLY_REFUNDED
        )
        assert order.payment_status == expected
        if order.status == OrderStatus.REFUNDED:
            assert order.refunded_amount == order.total
            assert order.history.filter(to_status=OrderStatus.DELIVERED).exists()


def test_seed_demo_payment_follows_the_order_and_its_refunds(seeded):
    # then
    assert_payments_follow_orders_and_refunds()
    assert Order.objects.filter(payment_status=PaymentStatus.PARTIALLY_REFUNDED).exists()
    assert Order.objects.filter(status=OrderStatus.CANCELLED, payment_status=PaymentStatus.REFUNDED).exists()


def test_seed_demo_numbers_orders_sequentially_per_store(seeded):
    # then
    for store in Store.objects.all():
        rows = list(store.orders.order_by("order_number").values_list("order_number", "created_at"))
        assert [number for number, _ in rows] == list(range(1, 61))
        assert [created for _, created in rows] == sorted(created for _, created in rows)
        assert store.last_order_number == 60


def test_seed_demo_adds_tracking_and_platform_data(seeded):
    # then
    shipped_or_later = Order.objects.filter(
        status__in=["shipped", "partially_shipped", "partially_delivered", "delivered", "refunded"]
    )
    for order in shipped_or_later:
        assert order.metadata["trackingNumber"]
        assert order.metadata["carrier"]
    assert not Order.objects.filter(
        status__in=["pending", "confirmed", "processing"], metadata__has_key="trackingNumber"
    ).exists()
    linked = Order.objects.exclude(external_id=None)
    assert set(linked.values_list("platform_name", flat=True)) == {"Shopify", "WooCommerce"}
    assert not Order.objects.filter(external_id=None).exclude(platform_name="").exists()


def test_seed_demo_writes_the_credentials_file_with_working_keys(seeded):
    # given
    _, credentials = seeded

    # when
    data = json.loads(credentials.read_text())

    # then
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert [entry["name"] for entry in data["stores"]] == ["Vesuvio Coffee", "Napoli Apparel"]
    for entry in data["stores"]:
        assert set(entry) == {"storeId", "name", "slug", "timezone", "currency", "apiKey"}
        store = Store.objects.get(pk=entry["storeId"])
        assert (entry["slug"], entry["timezone"], entry["currency"]) == (
            store.name.lower().replace(" ", "-"),
            store.timezone,
            store.currency,
        )
        assert api_key_authenticate(entry["apiKey"]).store == store
        assert not ApiKey.objects.filter(key_hash=entry["apiKey"]).exists()


def test_seed_demo_rerun_creates_nothing(seeded):
    # given
    _, credentials = seeded
    before = [
        model.objects.count() for model in (Store, ApiKey, Customer, Order, LineItem, HistoryEntry, Refund)
    ]
    file_before = credentials.read_text()

    # when
    output = _seed_demo(credentials)

    # then
    after = [
        model.objects.count() for model in (Store, ApiKey, Customer, Order, LineItem, HistoryEntry, Refund)
    ]
    assert after == before
    assert "left as is" in output
    assert json.loads(credentials.read_text()) == json.loads(file_before)


def test_seed_demo_if_empty_does_nothing_when_a_store_exists(store):
    # when
    output = run("seed_demo", "--orders", "5", "--if-empty", verbosity=0)

    # then
    assert "no demo data added" in output
    assert list(Store.objects.all()) == [store]
    assert not Order.objects.exists()


def test_seed_demo_tops_up_a_store_with_fewer_orders(db):
    # given
    run("seed_demo", "--orders", "20", "--stores", "1", verbosity=0)

    # when
    output = run("seed_demo", "--orders", "45", "--stores", "1", verbosity=0)

    # then
    assert "Added 25 orders" in output
    store = Store.objects.get()
    rows = list(store.orders.order_by("order_number").values_list("order_number", "created_at"))
    assert [number for number, _ in rows] == list(range(1, 46))
    assert [created for _, created in rows] == sorted(created for _, created in rows)
    assert store.last_order_number == 45
    assert ApiKey.objects.count() == 1


def test_seed_demo_credentials_merge_keeps_live_entries_and_drops_stale_ones(tmp_path, other_store):
    # given
    credentials = tmp_path / "creds.json"
    kept = {"storeId": str(other_store.pk), "name": "Other", "slug": "other", "timezone": "Europe/Berlin",
            "currency": "EUR", "apiKey": api_key_create(store=other_store).plaintext}  # fmt: skip
    stale = dict(kept, storeId="7c9e6679-7425-40de-944b-e07fc1f90ae7", name="Gone")
    credentials.write_text(json.dumps({"stores": [kept, stale]}))

    # when
    run("seed_demo", "--orders", "3", "--stores", "1", "--credentials", str(credentials), verbosity=0)

    # then
    names = [entry["name"] for entry in json.loads(credentials.read_text())["stores"]]
    assert names == ["Other", "Vesuvio Coffee"]


def test_seed_demo_stores_beyond_the_builtin_ones_get_numbered_names(db):
    # when
    run("seed_demo", "--orders", "2", "--stores", str(len(demo.STORES) + 1), verbosity=0)

    # then
    names = set(Store.objects.values_list("name", flat=True))
    assert len(names) == len(demo.STORES) + 1
    assert f"{demo.STORES[0].name} {len(demo.STORES) + 1}" in names


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # as in real runs, the catalogue commits before the bulk load
def test_seed_demo_bulk_load_keeps_every_index_and_foreign_key(monkeypatch):
    # given
    monkeypatch.setattr(demo, "BULK_LOAD_MIN_ORDERS", 1)
    tables = ["orders_order", "orders_lineitem", "orders_historyentry", "orders_refund"]

    def schema():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1", [tables]
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) "
                "ORDER BY 1",
                [tables],
            )
            return indexes, cursor.fetchall()

    before = schema()

    # when
    run("seed_demo", "--orders", "30", "--stores", "1", "--batch-size", "7", verbosity=0)

    # then
    assert schema() == before
    assert Order.objects.count() == 30
    assert sorted(Order.objects.values_list("order_number", flat=True)) == list(range(1, 31))
    assert HistoryEntry.objects.filter(kind="created").count() == 30
    assert_totals_add_up()
    assert_history_replays()
    assert_payments_follow_orders_and_refunds()
