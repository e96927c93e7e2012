"""Order action dialogs through the dashboard against the real API in-process: status update, cancel,
refund, link to platform, edit metadata — success, the API's refusals shown in the form, double submits,
who the history names, escaping, and the role rules on the server."""

import json
import re
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.api_resources import Orders
from dashboard.client import ApiTimeout
from orders.models import HistoryEntry, Order, Refund
from tests.dashboard.conftest import make_member
from tests.factories import VariantFactory, make_order

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-dialog"}
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class _FormFields(HTMLParser):
    """The values a browser would submit for the first form of a page (checked boxes only)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if self._done:
            return
        if tag == "input" and name:
            if a.get("type") in {"checkbox", "radio"}:
                if "checked" in a:
                    self.fields[name] = a.get("value") or "on"
            else:
                self.fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select:
            if "selected" in a or self._select not in self.fields:
                self.fields[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._done = True


def form_fields(html: str) -> dict[str, str]:
    """The action form's fields (a full page also has the header's sign-out form)."""
    parser = _FormFields()
    parser.feed(html[html.index('<form class="action-form"') :])
    return parser.fields


def action_url(order, action: str) -> str:
    names = {
        "status": "order_status_update",
        "cancel": "order_cancel",
        "refund": "order_refund",
        "link": "order_link",
        "metadata": "order_metadata_edit",
    }
    return reverse(f"dashboard:{names[action]}", args=["acme", order.id])


def open_form(client, order, action: str, query: str = "") -> dict[str, str]:
    """GET the dialog as htmx does and return the fields its form would submit."""
    response = client.get(action_url(order, action) + query, **HTMX)
    assert response.status_code == 200
    return form_fields(response.content.decode())


def submit(client, order, action: str, data: dict[str, str], *, htmx: bool = True):
    return client.post(action_url(order, action), data, **(HTMX if htmx else {}))


def triggers(response, header: str = "HX-Trigger") -> dict:
    return json.loads(response.headers.get(header) or "{}")


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}_error">(.*?)</p>', html, re.S)
    return unescape(match.group(1)) if match else ""


def top_errors(html: str) -> str:
    match = re.search(r'<div id="action-form-errors".*?</div>\s*</div>', html, re.S)
    return unescape(match.group(0)) if match else ""


@pytest.fixture
def processing(store):
    variant = VariantFactory(product__store=store, price=Decimal("20.00"))
    return make_order(store, status="processing", items=[(variant, 2)], shipping=Decimal("5.00"))


@pytest.fixture
def staff(connection):
    """A support member with a real name (what the history should show)."""
    user = make_member("sam@example.com", connection, "support")
    user.first_name, user.last_name = "Sam", "Support"
    user.save()
    return user


# --- status update ---------------------------------------------------------------------------------


def test_status_dialog_offers_only_allowed_moves_with_a_fresh_key(support_client, processing):
    # when
    response = support_client.get(action_url(processing, "status") + "?status=shipped", **HTMX)
    html = response.content.decode()
    # then: a fragment for the dialog, not a page
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="action-dialog-title"' in html
    options = re.findall(r'<option value="([a-z_]+)"', html)
    assert options == ["partially_shipped", "shipped"]  # processing → …; never "cancelled" here
    assert form_fields(html)["status"] == "shipped"
    key = form_fields(html)["idempotency_key"]
    assert UUID4.match(key)
    assert (
        form_fields(support_client.get(action_url(processing, "status"), **HTMX).content.decode())[
            "idempotency_key"
        ]
        != key
    )


def test_status_update_ships_the_order_and_returns_the_refreshed_regions(client, staff, processing):
    # given
    client.force_login(staff)
    data = open_form(client, processing, "status", "?status=shipped")
    data.update(tracking_number="1Z999AA10123456784", carrier="UPS", note="Left the warehouse")
    data.update({"meta-0-key": "box", "meta-0-value": "B-12"})
    # when
    response = submit(client, processing, "status", data)
    # then: the order changed through the API
    processing.refresh_from_db()
    assert processing.status == "shipped"
    assert processing.metadata == {"trackingNumber": "1Z999AA10123456784", "carrier": "UPS", "box": "B-12"}
    entry = processing.history.order_by("-changed_at", "-id").first()
    assert entry.to_status == "shipped"
    assert entry.note == "Left the warehouse"
    # and the response refreshes the page without a reload
    html = response.content.decode()
    assert response.status_code == 200
    for region in ("order-header", "order-actions", "order-totals", "order-history", "order-metadata"):
        assert f'id="{region}"' in html, region
    assert re.search(r'id="order-header" hx-swap-oob="true"', html)
    assert "badge-status-shipped" in html
    assert "1Z999AA10123456784" in html
    assert "Mark delivered" in html  # the actions follow the new allowedTransitions
    assert "order-changed" in triggers(response)
    assert "is now shipped" in triggers(response, "HX-Trigger-After-Settle")["action-succeeded"]["message"]
    assert re.search(r'id="action-status" hx-swap-oob="innerHTML".*is now shipped', html, re.S)


def test_history_names_the_staff_member_who_acted(client, staff, processing):
    # given
    client.force_login(staff)
    data = open_form(client, processing, "status", "?status=shipped")
    # when
    submit(client, processing, "status", data)
    # then
    entry = processing.history.get(to_status="shipped")
    assert entry.actor_type == "user"
    assert entry.actor_name == "Sam Support"
    page = client.get(reverse("dashboard:order_detail", args=["acme", processing.id])).content.decode()
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page, re.S).group(0)
    assert "Sam Support" in timeline


def test_status_update_without_javascript_redirects_to_the_order_with_a_message(support_client, processing):
    # given: the plain page of the form (no htmx)
    page = support_client.get(action_url(processing, "status") + "?status=shipped")
    assert "<html" in page.content.decode()
    data = form_fields(page.content.decode())
    # when
    response = submit(support_client, processing, "status", data, htmx=False)
    # then
    order_url = reverse("dashboard:order_detail", args=["acme", processing.id])
    assert response.status_code == 302
    assert response["Location"] == order_url
    processing.refresh_from_db()
    assert processing.status == "shipped"
    assert "is now shipped" in support_client.get(order_url).content.decode()


def test_status_update_note_refused_by_the_api_is_shown_at_the_note(support_client, processing):
    # given: a note only the API's rule refuses (≤ 500 characters)
    data = open_form(support_client, processing, "status", "?status=shipped")
    data.update(note="n" * 501)
    # when
    response = submit(support_client, processing, "status", data)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "500 characters" in field_error(html, "id_note")
    processing.refresh_from_db()
    assert processing.status == "processing"
    assert 'aria-invalid="true"' in html


def test_status_update_metadata_error_lands_at_the_tracking_number(support_client, processing):
    # given
    data = open_form(support_client, processing, "status", "?status=shipped")
    data.update(tracking_number="9" * 501)
    # when
    html = submit(support_client, processing, "status", data).content.decode()
    # then
    assert "at most 500 characters" in field_error(html, "id_tracking_number")
    processing.refresh_from_db()
    assert processing.status == "processing"


def test_status_update_to_a_move_no_longer_allowed_is_refused_by_the_api_at_the_field(
    support_client, processing
):
    # given: the order moved on since the dialog was opened
    data = open_form(support_client, processing, "status", "?status=partially_shipped")
    Order.objects.filter(pk=processing.pk).update(status="shipped")
    # when
    html = submit(support_client, processing, "status", data).content.decode()
    # then
    assert "Cannot move order" in field_error(html, "id_status")
    assert "from 'shipped' to 'partially_shipped'" in field_error(html, "id_status")


def test_status_dialog_for_a_final_order_explains_instead_of_offering_a_form(support_client, store):
    # given
    delivered = make_order(store, status="delivered")
    # when
    html = support_client.get(action_url(delivered, "status"), **HTMX).content.decode()
    # then
    assert "its status can no longer change" in html
    assert "<form" not in html


def test_double_submit_of_one_status_form_acts_once(support_client, processing):
    # given
    data = open_form(support_client, processing, "status", "?status=shipped")
    # when: the same rendered form sent twice (double click, or a retry after a lost answer)
    first = submit(support_client, processing, "status", data)
    second = submit(support_client, processing, "status", data)
    # then: the API replayed the first answer
    assert first.status_code == second.status_code == 200
    assert "is now shipped" in second.content.decode()
    assert processing.history.filter(to_status="shipped").count() == 1


# --- cancel ----------------------------------------------------------------------------------------


def test_cancel_with_a_partial_refund(admin_client_member, processing):
    # given
    data = open_form(admin_client_member, processing, "cancel")
    assert (
        "Up to 45.00 USD can be refunded."
        in admin_client_member.get(action_url(processing, "cancel"), **HTMX).content.decode()
    )
    data.update(reason="Customer changed their mind", refund_amount="15.00", notify_customer="on")
    # when
    response = submit(admin_client_member, processing, "cancel", data)
    # then
    processing.refresh_from_db()
    assert processing.status == "cancelled"
    assert processing.cancel_reason == "Customer changed their mind"
    assert processing.refunded_amount == Decimal("15.00")
    assert list(processing.refunds.values_list("amount", flat=True)) == [Decimal("15.00")]
    html = response.content.decode()
    totals = re.search(r'<dl class="totals" id="order-totals" hx-swap-oob="true">.*?</dl>', html, re.S).group(
        0
    )
    assert re.search(r"Refunded</dt><dd>− <span class=\"money\">15\.00", totals)
    assert re.search(r"Net</dt><dd><span class=\"money\">30\.00", totals)
    assert "badge-status-cancelled" in html
    assert "Cancel order" not in re.search(r'id="order-actions".*?</div>', html, re.S).group(0)


def test_cancel_needs_a_reason(admin_client_member, processing):
    # given
    data = open_form(admin_client_member, processing, "cancel")
    # when
    html = submit(admin_client_member, processing, "cancel", data).content.decode()
    # then
    assert "required" in field_error(html, "id_reason")
    processing.refresh_from_db()
    assert processing.status == "processing"


def test_cancel_refund_above_the_refundable_amount_is_shown_at_the_refund_field(
    admin_client_member, processing
):
    # given
    data = open_form(admin_client_member, processing, "cancel")
    data.update(reason="Duplicate", refund_amount="99.00")
    # when
    html = submit(admin_client_member, processing, "cancel", data).content.decode()
    # then
    assert (
        field_error(html, "id_refund_amount") == "99.00 USD is more than can be refunded: at most 45.00 USD."
    )
    processing.refresh_from_db()
    assert processing.status == "processing"


def test_cancel_of_a_delivered_order_explains_the_state_at_the_top_and_refreshes(admin_client_member, store):
    # given: the dialog was opened while the order was still cancellable
    order = make_order(store, status="shipped")
    data = open_form(admin_client_member, order, "cancel")
    Order.objects.filter(pk=order.pk).update(status="delivered")
    data.update(reason="Too late")
    # when
    response = submit(admin_client_member, order, "cancel", data)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "is delivered and can no longer be cancelled" in top_errors(html)
    assert "order-changed" in triggers(response)
    assert "action-succeeded" not in triggers(response, "HX-Trigger-After-Settle")
    assert re.search(r'id="order-header" hx-swap-oob="true".*badge-status-delivered', html, re.S)


def test_cancel_of_an_already_cancelled_order_says_so(admin_client_member, processing):
    # given
    data = open_form(admin_client_member, processing, "cancel")
    Order.objects.filter(pk=processing.pk).update(status="cancelled")
    data.update(reason="Again")
    # when
    html = submit(admin_client_member, processing, "cancel", data).content.decode()
    # then
    assert "is already cancelled" in top_errors(html)


# --- refund ----------------------------------------------------------------------------------------


def test_refund_part_of_an_order(admin_client_member, processing):
    # given
    data = open_form(admin_client_member, processing, "refund")
    data.update(amount="10.50", reason="Scratched mug")
    # when
    response = submit(admin_client_member, processing, "refund", data)
    # then
    refund = Refund.objects.get(order=processing)
    assert refund.amount == Decimal("10.50")
    assert refund.reason == "Scratched mug"
    processing.refresh_from_db()
    assert processing.payment_status == "partially_refunded"
    html = response.content.decode()
    refunds = re.search(r'id="order-refunds"[^>]*hx-swap-oob="true".*?</section>', html, re.S).group(0)
    assert "10.50" in refunds
    assert "Scratched mug" in refunds
    assert "badge-payment-partially_refunded" in html


def test_refund_above_the_refundable_amount_is_shown_at_the_amount(admin_client_member, processing):
    # given
    data = open_form(admin_client_member, processing, "refund")
    data.update(amount="45.01")
    # when
    html = submit(admin_client_member, processing, "refund", data).content.decode()
    # then
    error = field_error(html, "id_amount")
    assert error == "45.01 USD is more than can be refunded: at most 45.00 USD."
    assert re.search(r'<input[^>]*name="amount"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input[^>]*name="amount"[^>]*aria-describedby="[^"]*id_amount_error', html)
    assert not Refund.objects.exists()


def test_a_corrected_form_after_a_refusal_goes_through_with_a_new_key(
    admin_client_member, processing, monkeypatch
):
    # given: a refund the API refuses (the API stores that answer under the form's key); the form's own
    # amount check is bypassed, as when the order changed between the form's check and the API's
    monkeypatch.setattr("dashboard.action_forms.check_refund_amount", lambda amount, order: None)
    data = open_form(admin_client_member, processing, "refund")
    data.update(amount="50.00")
    refused = form_fields(submit(admin_client_member, processing, "refund", data).content.decode())
    assert refused["idempotency_key"] != data["idempotency_key"]
    # when: the person corrects the amount and sends the re-rendered form
    refused.update(amount="5.00")
    response = submit(admin_client_member, processing, "refund", refused)
    # then
    assert "action-succeeded" in triggers(response, "HX-Trigger-After-Settle")
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("5.00")]


def test_double_submit_of_one_refund_form_refunds_once(admin_client_member, processing):
    # given
    data = open_form(admin_client_member, processing, "refund")
    data.update(amount="10.00")
    # when
    first = submit(admin_client_member, processing, "refund", data)
    second = submit(admin_client_member, processing, "refund", data)
    # then
    assert "action-succeeded" in triggers(first, "HX-Trigger-After-Settle")
    assert "action-succeeded" in triggers(second, "HX-Trigger-After-Settle")
    assert Refund.objects.filter(order=processing).count() == 1
    assert processing.history.filter(kind="refund").count() == 1
    processing.refresh_from_db()
    assert processing.refunded_amount == Decimal("10.00")


def test_a_send_whose_answer_was_lost_keeps_its_key_so_sending_again_acts_once(
    admin_client_member, processing, monkeypatch
):
    # given: the API acts but its answer does not arrive in time
    data = open_form(admin_client_member, processing, "refund")
    data.update(amount="10.00")
    real_refund = Orders.refund

    def acts_then_times_out(self, *args, **kwargs):
        real_refund(self, *args, **kwargs)
        raise ApiTimeout("The Orders API did not answer within the timeout.")

    monkeypatch.setattr(Orders, "refund", acts_then_times_out)
    lost = submit(admin_client_member, processing, "refund", data).content.decode()
    # then: the form says so and keeps its key
    assert "did not answer in time" in top_errors(lost)
    again = form_fields(lost)
    assert again["idempotency_key"] == data["idempotency_key"]
    # when: the person sends it again
    monkeypatch.setattr(Orders, "refund", real_refund)
    response = submit(admin_client_member, processing, "refund", again)
    # then: the API replays the first refund instead of refunding twice
    assert "action-succeeded" in triggers(response, "HX-Trigger-After-Settle")
    assert Refund.objects.filter(order=processing).count() == 1


def test_refund_dialog_of_an_unpaid_order_explains(admin_client_member, store):
    # given
    pending = make_order(store, status="pending")
    # when
    html = admin_client_member.get(action_url(pending, "refund"), **HTMX).content.decode()
    # then
    assert "Nothing can be refunded" in html
    assert "<form" not in html


# --- link ------------------------------------------------------------------------------------------


def test_link_an_order_to_its_platform_order(client, staff, processing):
    # given
    client.force_login(staff)
    data = open_form(client, processing, "link")
    data.update(external_order_id="wc-1001", platform_name="WooCommerce")
    # when
    response = submit(client, processing, "link", data)
    # then
    processing.refresh_from_db()
    assert (processing.external_id, processing.platform_name) == ("wc-1001", "WooCommerce")
    assert processing.history.get(kind="link").actor_name == "Sam Support"
    html = response.content.decode()
    platform = re.search(r'id="order-platform"[^>]*hx-swap-oob="true".*?</section>', html, re.S).group(0)
    assert "wc-1001" in platform
    assert "Link to platform" not in html


def test_link_to_an_external_id_of_another_order_is_shown_at_the_field(support_client, store, processing):
    # given
    make_order(store, external_id="wc-1001", platform_name="WooCommerce")
    data = open_form(support_client, processing, "link")
    data.update(external_order_id="wc-1001", platform_name="WooCommerce")
    # when
    html = submit(support_client, processing, "link", data).content.decode()
    # then
    assert "already belongs to another order" in field_error(html, "id_external_order_id")
    processing.refresh_from_db()
    assert processing.external_id is None


def test_link_of_an_order_linked_meanwhile_explains_at_the_top(support_client, processing):
    # given
    data = open_form(support_client, processing, "link")
    Order.objects.filter(pk=processing.pk).update(external_id="shop-9", platform_name="shopify")
    data.update(external_order_id="wc-1", platform_name="WooCommerce")
    # when
    response = submit(support_client, processing, "link", data)
    # then
    assert "is already linked to shopify order 'shop-9'" in top_errors(response.content.decode())
    assert "order-changed" in triggers(response)


# --- metadata --------------------------------------------------------------------------------------


def test_edit_metadata_changes_removes_and_adds_keys(support_client, store):
    # given
    order = make_order(store, metadata={"giftWrap": "yes", "priority": 2, "channel": "web"})
    data = open_form(support_client, order, "metadata")
    rows = {data[f"meta-{i}-key"]: i for i in range(3)}
    data[f"meta-{rows['giftWrap']}-value"] = "no"
    data[f"meta-{rows['channel']}-remove"] = "on"
    data.update({"meta-3-key": "source", "meta-3-value": "phone"})
    # when
    response = submit(support_client, order, "metadata", data)
    # then: only the changes were sent; the untouched number keeps its type
    order.refresh_from_db()
    assert order.metadata == {"giftWrap": "no", "priority": 2, "source": "phone"}
    assert order.history.get(kind="metadata").metadata == {
        "giftWrap": "no",
        "channel": None,
        "source": "phone",
    }
    assert "phone" in re.search(
        r'id="order-metadata"[^>]*hx-swap-oob="true".*?</section>', response.content.decode(), re.S
    ).group(0)


def test_metadata_key_too_long_is_shown_at_its_row(support_client, processing):
    # given
    data = open_form(support_client, processing, "metadata")
    data.update({"meta-0-key": "k" * 41, "meta-0-value": "v"})
    # when
    html = submit(support_client, processing, "metadata", data).content.decode()
    # then
    assert re.search(r'id="meta-0-error">Keys must be 1–40 characters\.', html)
    assert re.search(r'<input[^>]*name="meta-0-key"[^>]*aria-describedby="meta-0-error"', html)
    processing.refresh_from_db()
    assert processing.metadata == {}


def test_metadata_form_without_changes_is_refused_before_the_api(support_client, processing):
    # given
    data = open_form(support_client, processing, "metadata")
    # when
    html = submit(support_client, processing, "metadata", data).content.decode()
    # then
    assert "Nothing changed" in top_errors(html)
    assert not processing.history.filter(kind="metadata").exists()


def test_metadata_value_without_a_key_is_refused(support_client, processing):
    data = open_form(support_client, processing, "metadata")
    data.update({"meta-0-value": "orphan"})
    html = submit(support_client, processing, "metadata", data).content.decode()
    assert "Give a key" in field_error(html, "id_meta-0-key")


# --- escaping --------------------------------------------------------------------------------------


def test_user_text_renders_escaped_on_the_page_in_the_timeline_and_in_dialogs(
    admin_client_member, processing
):
    # given: markup typed into metadata, a note and a cancel reason
    script = "<script>alert(1)</script>"
    data = open_form(admin_client_member, processing, "metadata")
    data.update({"meta-0-key": "evil", "meta-0-value": script})
    saved = submit(admin_client_member, processing, "metadata", data).content.decode()
    data = open_form(admin_client_member, processing, "status", "?status=shipped")
    data.update(note=script)
    submit(admin_client_member, processing, "status", data)
    data = open_form(admin_client_member, processing, "cancel")
    data.update(reason=script)
    submit(admin_client_member, processing, "cancel", data)
    # when
    page = admin_client_member.get(reverse("dashboard:order_detail", args=["acme", processing.id]))
    dialog = admin_client_member.get(action_url(processing, "metadata"), **HTMX)
    # then
    for html in (saved, page.content.decode(), dialog.content.decode()):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page.content.decode(), re.S).group(0)
    assert timeline.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # metadata, note, reason


# --- roles -----------------------------------------------------------------------------------------

ACTIONS = ["status", "cancel", "refund", "link", "metadata"]


@pytest.mark.parametrize("action", ACTIONS)
def test_viewer_can_neither_open_nor_submit_an_action(viewer_client, processing, action):
    # when
    opened = viewer_client.get(action_url(processing, action), **HTMX)
    sent = viewer_client.post(
        action_url(processing, action),
        {"idempotency_key": "k", "status": "shipped", "reason": "x", "amount": "1", "external_order_id": "e"},
    )
    # then
    assert opened.status_code == 403
    assert sent.status_code == 403
    processing.refresh_from_db()
    assert processing.status == "processing"
    assert processing.history.count() == 1


@pytest.mark.parametrize("action", ["cancel", "refund"])
def test_support_cannot_cancel_or_refund(support_client, processing, action):
    # when
    opened = support_client.get(action_url(processing, action), **HTMX)
    sent = support_client.post(
        action_url(processing, action), {"idempotency_key": "k", "reason": "x", "amount": "1.00"}
    )
    # then
    assert opened.status_code == sent.status_code == 403
    processing.refresh_from_db()
    assert processing.status == "processing"
    assert not Refund.objects.exists()


def test_support_cannot_cancel_through_a_status_update(support_client, processing):
    # given: a forged status form asking for "cancelled"
    data = open_form(support_client, processing, "status")
    data["status"] = "cancelled"
    # when
    html = submit(support_client, processing, "status", data).content.decode()
    # then
    assert "not one of the available choices" in field_error(html, "id_status")
    processing.refresh_from_db()
    assert processing.status == "processing"


def test_another_stores_member_gets_404_for_actions(client, other_connection, processing):
    client.force_login(make_member("outsider@example.com", other_connection, "admin"))
    assert client.get(action_url(processing, "cancel"), **HTMX).status_code == 404


def test_action_buttons_follow_role_and_order_state(admin_client_member, support, store):
    # given
    support_client = Client()
    support_client.force_login(support)
    delivered = make_order(store, status="delivered", external_id="x-1", platform_name="shop")
    pending = make_order(store, status="pending")

    def actions(client, order):
        html = client.get(reverse("dashboard:order_detail", args=["acme", order.id])).content.decode()
        return re.search(r'id="order-actions".*?</div>', html, re.S).group(0)

    # then: no cancel on delivered, no status moves left, no link when linked, refund while paid
    delivered_actions = actions(admin_client_member, delivered)
    assert 'id="action-cancel"' not in delivered_actions
    assert 'id="action-status-' not in delivered_actions
    assert 'id="action-link"' not in delivered_actions
    assert 'id="action-refund"' in delivered_actions
    # an unpaid order has nothing to refund
    pending_actions = actions(admin_client_member, pending)
    assert 'id="action-refund"' not in pending_actions
    assert 'id="action-cancel"' in pending_actions
    assert 'id="action-status-confirmed"' in pending_actions
    # support: status, link, metadata only
    support_actions = actions(support_client, pending)
    assert 'id="action-status-confirmed"' in support_actions
    assert 'id="action-metadata"' in support_actions
    assert 'id="action-cancel"' not in support_actions


def test_dialog_buttons_are_links_that_htmx_loads_into_the_dialog(support_client, processing):
    html = support_client.get(
        reverse("dashboard:order_detail", args=["acme", processing.id])
    ).content.decode()
    url = action_url(processing, "status") + "?status=shipped"
    assert re.search(
        rf'<a [^>]*href="{re.escape(url)}" hx-get="{re.escape(url)}" hx-target="#action-dialog"', html
    )
    assert '<dialog id="action-dialog"' in html
    assert 'id="action-status" class="action-status" role="status" aria-live="polite"' in html


def test_history_entry_count_stays_one_per_action(support_client, processing):
    # given two different forms (two keys): two separate updates
    first = open_form(support_client, processing, "status", "?status=shipped")
    submit(support_client, processing, "status", first)
    second = open_form(support_client, processing, "status", "?status=delivered")
    # when
    submit(support_client, processing, "status", second)
    # then
    assert list(
        HistoryEntry.objects.filter(order=processing)
        .order_by("changed_at", "id")
        .values_list("to_status", flat=True)
    ) == ["processing", "shipped", "delivered"]
