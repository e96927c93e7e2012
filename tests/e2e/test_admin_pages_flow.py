"""An admin in real Chromium: the overview, the audit view, exporting the filtered orders list (the
downloaded file has exactly the filtered rows), and a webhook secret rotation shown once."""

import csv
import io
import re
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.client import OrdersApiClient
from dashboard.models import Membership, StoreConnection
from dashboard.transport import transport_for
from orders.auth import api_key_create
from orders.webhooks.endpoints import endpoint_create
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-123"
SLUG = "vesuvio-coffee"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 answering 200."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/orders"
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(db, receiver):
    """A month of orders, changes by two staff members, a webhook endpoint, and an admin."""
    store = StoreFactory(name="Vesuvio Coffee", currency="EUR", timezone="Europe/Rome")
    key = api_key_create(store=store, name="Dashboard").plaintext
    connection = StoreConnection(name=store.name, slug=SLUG, timezone=store.timezone)
    connection.set_api_key(key)
    connection.save()
    user = get_user_model().objects.create_user(
        "marta@demo.test", "marta@demo.test", PASSWORD, first_name="Marta", last_name="Esposito"
    )
    Membership.objects.create(user=user, store=connection, role="admin")
    beans = VariantFactory(
        product__store=store, product__name="Espresso beans 1 kg", sku="BEANS-1KG", price=Decimal("24.90")
    )
    mug = VariantFactory(
        product__store=store, product__name="Ceramic mug", sku="MUG-WHT", price=Decimal("12.00")
    )
    names = ["Giulia Bianchi", "Marco Rossi", "Sofia Ricci", "Luca Greco", "Anna Conti"]
    now = timezone.now()
    orders = []
    for i in range(36):
        first, last = names[i % len(names)].split()
        customer = CustomerFactory(store=store, first_name=first, last_name=last)
        orders.append(
            make_order(
                store,
                status="confirmed" if i % 4 else "pending",
                customer=customer,
                items=[(beans, 1 + i % 3), (mug, i % 2)] if i % 2 else [(beans, 1 + (i * 7) % 4)],
                shipping=Decimal("4.90"),
                created_at=now - timedelta(days=(i * 29) // 35, hours=i % 5),
            )
        )
    base_url, transport = transport_for("")
    for actor, picked in (("Marta Esposito", orders[1:30:3]), ("Paolo (warehouse)", orders[2:30:4])):
        api = OrdersApiClient(base_url, key, transport=transport, on_behalf_of=actor)
        for order in picked:
            current = api.orders.get(str(order.id))
            if "processing" in current.allowed_transitions:
                api.orders.update_status(str(order.id), "processing", note="Roasting today")
                api.orders.update_status(
                    str(order.id), "shipped", note="Handed to courier", metadata={"carrier": "BRT"}
                )
    endpoint_create(
        store=store,
        url=receiver,
        event_types=["order.shipped", "order.cancelled"],
        description="Warehouse system",
    )
    return {"store": store}


def sign_in(page, live_server):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("marta@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/stores/{SLUG}/"))


def test_admin_overview_audit_export_and_webhooks(live_server, page, shop):
    sign_in(page, live_server)

    # overview: counts link to the list, the chart has 30 days, latest changes listed
    page.get_by_role("navigation", name="Store").get_by_role("link", name="Overview").click()
    page.wait_for_url(re.compile(rf"/stores/{SLUG}/$"))
    expect(page.locator("rect.chart-bar")).to_have_count(30)
    expect(page.locator(".feed-entry")).to_have_count(10)
    page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True, caret="initial")
    shipped_count = int(
        page.locator('a.status-count[href$="status=shipped"] .status-count-number').inner_text()
    )
    assert shipped_count > 0

    # audit view: filter by actor, rows link to orders
    page.get_by_role("navigation", name="Store").get_by_role("link", name="Audit").click()
    page.wait_for_url(re.compile(r"/audit/$"))
    page.get_by_label("Actor").press_sequentially("Paolo (warehouse)")
    page.wait_for_url(re.compile(r"actor=Paolo(\+|%20)(\(|%28)warehouse"))
    expect(page.locator("#history-table tbody tr").first).to_contain_text("Paolo (warehouse)")
    assert all("Paolo (warehouse)" in t for t in page.locator("#history-table tbody tr").all_inner_texts())
    page.screenshot(path=str(SCREENSHOTS / "audit.png"), full_page=True, caret="initial")

    # orders list filtered by a status count link, then exported: the file has exactly those rows
    page.goto(f"{live_server.url}/stores/{SLUG}/")
    page.locator('a.status-count[href$="status=shipped"]').click()
    page.wait_for_url(re.compile(r"/orders/\?status=shipped$"))
    page.locator("#id_search").press_sequentially("Rossi")
    page.wait_for_url(re.compile(r"search=Rossi"))
    expect(page.locator("#results-status")).to_have_text(re.compile(r"^\d+ orders?$"))
    listed = page.locator("#orders-table a.order-link").all_inner_texts()
    assert 0 < len(listed) < shipped_count
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert re.fullmatch(r"orders-vesuvio-coffee-\d{8}T\d{6}Z\.csv", download.value.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["Order number"] for row in rows] == listed
    assert {row["Status"] for row in rows} == {"shipped"}

    # webhooks: rotate the secret, shown once; reload → gone
    page.get_by_role("navigation", name="Store").get_by_role("link", name="Webhooks").click()
    page.wait_for_url(re.compile(r"/webhooks/$"))
    page.locator("a.endpoint-link").first.click()
    page.wait_for_url(re.compile(r"/webhooks/[0-9a-f-]{36}/$"))
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator(".test-status-code")).to_have_text("200")
    page.screenshot(path=str(SCREENSHOTS / "webhooks.png"), full_page=True, caret="initial")
    assert not SECRET.search(page.content())
    page.get_by_role("link", name="Rotate secret").click()  # a confirmation first
    expect(page.get_by_role("heading", name="Rotate the signing secret?")).to_be_visible()
    page.get_by_role("button", name="Rotate secret").click()
    secret_box = page.get_by_role("textbox", name="Signing secret")
    expect(secret_box).to_be_visible()
    assert SECRET.fullmatch(secret_box.input_value())
    page.reload()
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    assert not SECRET.search(page.content())
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)

    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors
