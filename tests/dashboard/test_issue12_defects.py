"""Defects found by support staff (issue 12), one test each, against the real API in-process. The Back
button, the list's time zone and an expired session in a dialog are also driven in Chromium
(tests/e2e/test_list_history_and_session_flow.py)."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from orders.actors import Actor
from orders.models import HistoryEntry
from orders.services.refunds import refund_create
from tests.dashboard.test_order_actions import action_url, field_error, form_fields, open_form, submit
from tests.factories import VariantFactory, make_order

LIST = "/stores/acme/orders/"
AUDIT = "/stores/acme/audit/"
HTMX_TABLE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "orders-table"}
HTMX_DIALOG = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-dialog"}
STAFF = Actor(type=HistoryEntry.ActorType.USER, name="Marta Esposito")


def summary(html: str) -> str:
    """The filter error summary at the top of the results."""
    match = re.search(r'<div class="alert alert-error" role="alert">.*?</div>', html, re.S)
    assert match, "no error summary"
    return unescape(re.sub(r"<[^>]+>", " ", match.group(0)))


@pytest.fixture
def new_york(connection):
    """The dashboard shows this store in New York time; the API's own store stays in UTC (a remote
    API's store zone need not match the dashboard's)."""
    connection.timezone = "America/New_York"
    connection.save()
    return connection


@pytest.fixture
def late_order(store):
    """23:38 on Nov 28 in New York, already Nov 29 in UTC."""
    return make_order(store, created_at=datetime(2026, 11, 29, 4, 38, tzinfo=UTC))


# --- the Back button: a pushed URL must never come back as a bare fragment -------------------------


def test_table_fragment_varies_on_hx_request_and_is_never_stored(viewer_client, late_order):
    response = viewer_client.get(LIST, {"status": "confirmed"}, **HTMX_TABLE)
    assert response.content.decode().lstrip().startswith('<section id="orders-table"')
    assert "HX-Request" in response["Vary"]
    assert "no-store" in response["Cache-Control"]


def test_full_page_at_the_same_url_varies_on_hx_request_too(viewer_client, late_order):
    response = viewer_client.get(LIST, {"status": "confirmed"})
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


# --- time zone -------------------------------------------------------------------------------------


def test_list_shows_created_time_in_the_stores_zone(viewer_client, new_york, late_order):
    html = viewer_client.get(LIST).content.decode()
    cell = re.search(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", html)
    assert cell.group(2) == "Nov 28, 2026 23:38"
    assert cell.group(1) == "2026-11-28T23:38:00-05:00"
    # the order page says the same
    page = viewer_client.get(reverse("dashboard:order_detail", args=["acme", late_order.id])).content
    assert "Nov 28, 2026 23:38 EST" in page.decode()


@pytest.mark.parametrize(("day", "listed"), [("2026-11-28", True), ("2026-11-29", False)])
def test_created_filter_uses_the_stores_day(viewer_client, new_york, late_order, day, listed):
    html = viewer_client.get(LIST, {"created_from": day, "created_to": day}).content.decode()
    assert (late_order.display_number in html) is listed


@pytest.mark.parametrize(("day", "listed"), [("2026-11-28", True), ("2026-11-29", False)])
def test_audit_date_filter_uses_the_stores_day(viewer_client, new_york, late_order, day, listed):
    # the order's creation entry is at its created time, 23:38 New York time on Nov 28
    html = viewer_client.get(AUDIT, {"date_from": day, "date_to": day}).content.decode()
    assert (late_order.display_number in html) is listed


# --- an expired session in an HTMX request ---------------------------------------------------------


def test_htmx_request_without_a_session_redirects_the_whole_window_back_to_the_order(client, late_order):
    order_page = reverse("dashboard:order_detail", args=["acme", late_order.id])
    # when: the cancel dialog's form is sent after the session expired
    response = client.post(
        action_url(late_order, "cancel"),
        {"reason": "x"},
        HTTP_HX_CURRENT_URL=f"http://testserver{order_page}",
        **HTMX_DIALOG,
    )
    # then: no sign-in page inside the dialog; the window goes to sign in, then back to the order page
    assert response.status_code == 200
    assert response.content == b""
    assert response["HX-Redirect"] == f"/login/?next={order_page}"


def test_sign_in_after_the_redirect_returns_to_the_order(client, support, late_order):
    order_page = reverse("dashboard:order_detail", args=["acme", late_order.id])
    redirect = client.get(
        action_url(late_order, "status"), HTTP_HX_CURRENT_URL=f"http://testserver{order_page}", **HTMX_DIALOG
    )["HX-Redirect"]
    login_page = client.get(redirect).content.decode()
    next_value = re.search(r'name="next" value="([^"]*)"', login_page).group(1)
    signed_in = client.post(
        reverse("dashboard:login"),
        {"username": support.username, "password": "correct-horse-battery", "next": next_value},
    )
    assert signed_in["Location"] == order_page


def test_plain_request_without_a_session_still_redirects_to_sign_in(client, late_order):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={LIST}"


# --- another store's slug --------------------------------------------------------------------------


def test_a_store_the_user_is_not_a_member_of_is_the_styled_404_even_in_development(
    client, outsider, connection, settings
):
    settings.DEBUG = True  # development: Django would show its technical 404 for a raised Http404
    client.force_login(outsider)
    response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 404
    assert "This page does not exist, or you do not have access to it." in html
    assert "Back to your stores" in html


# --- error summaries name the labels ----------------------------------------------------------------


def test_order_filter_errors_are_named_by_their_labels(viewer_client, late_order):
    html = viewer_client.get(
        LIST, {"created_from": "2024-03-05", "created_to": "2024-03-01", "page_size": "7"}
    ).content.decode()
    text = summary(html)
    assert "Created to:" in text
    assert "Per page:" in text
    assert "Createdto" not in text
    assert "Pagesize" not in text


def test_audit_filter_errors_are_named_by_their_labels(viewer_client, late_order):
    text = summary(
        viewer_client.get(AUDIT, {"date_from": "2024-03-05", "date_to": "2024-03-01"}).content.decode()
    )
    assert "Changed to:" in text
    assert "Date to" not in text


# --- a page past the end ---------------------------------------------------------------------------


def test_a_page_past_the_end_says_so_and_links_to_the_last_page(viewer_client, store):
    for _ in range(30):
        make_order(store)
    html = viewer_client.get(LIST, {"page": "99999", "sort": "-total"}).content.decode()
    assert "No orders match these filters" not in html
    assert "Page 99999 is past the end of these results." in html
    assert f'href="{LIST}?page=2&amp;sort=-total"' in html
    assert "Go to the last page (page 2)" in html


def test_an_audit_page_past_the_end_links_to_the_last_page(viewer_client, late_order):
    html = viewer_client.get(AUDIT, {"page": "500"}).content.decode()
    assert "No changes match these filters" not in html
    assert f'href="{AUDIT}"' in html
    assert "Page 500 is past the end of these changes." in html


# --- refunds: money in errors, nothing offered when nothing is refundable --------------------------


@pytest.fixture
def paid(store):
    variant = VariantFactory(product__store=store, price=Decimal("30.70"))
    return make_order(store, status="processing", items=[(variant, 2)])  # 61.40 USD


def test_a_negative_refund_is_refused_with_money_not_a_raw_number(admin_client_member, paid):
    data = open_form(admin_client_member, paid, "refund")
    data.update(amount="-5")
    html = submit(admin_client_member, paid, "refund", data).content.decode()
    assert field_error(html, "id_amount") == "Enter an amount greater than 0.00 USD."
    assert "got -5" not in html


def test_a_refund_above_the_refundable_amount_names_both_amounts_with_the_currency(admin_client_member, paid):
    refund_create(
        order_id=paid.id,
        store=paid.store,
        amount=Decimal("10.00"),
        reason="",
        notify_customer=False,
        actor=STAFF,
    )
    data = open_form(admin_client_member, paid, "refund")
    data.update(amount="61.4")
    html = submit(admin_client_member, paid, "refund", data).content.decode()
    assert field_error(html, "id_amount") == "61.40 USD is more than can be refunded: at most 51.40 USD."


def test_cancelling_an_unpaid_order_offers_no_refund(admin_client_member, store):
    unpaid = make_order(store, status="pending")
    html = admin_client_member.get(action_url(unpaid, "cancel"), **HTMX_DIALOG).content.decode()
    assert 'name="refund_amount"' not in html
    assert "Refund now" not in html
    assert "Refundable" not in html
    # and cancelling it still works
    data = form_fields(html)
    data.update(reason="Customer changed their mind")
    response = submit(admin_client_member, unpaid, "cancel", data)
    assert "action-succeeded" in response.headers["HX-Trigger-After-Settle"]
    unpaid.refresh_from_db()
    assert unpaid.status == "cancelled"


# --- the refund history reads as sentences ---------------------------------------------------------


def test_refund_history_shows_money_a_yes_and_no_uuid_or_same_status_move(admin_client_member, store):
    order = make_order(store, status="cancelled")
    refund, _ = refund_create(
        order_id=order.id, store=store, amount=Decimal("20"), reason="", notify_customer=True, actor=STAFF
    )
    html = admin_client_member.get(
        reverse("dashboard:order_detail", args=["acme", order.id])
    ).content.decode()
    timeline = re.search(r'<ol class="timeline">.*?</ol>', html, re.S).group(0)
    refund_entry = re.search(r'<li class="timeline-entry timeline-refund">.*?</li>', timeline, re.S).group(0)
    assert str(refund.id) not in refund_entry
    assert "refundId" not in refund_entry
    assert "<dt>Amount</dt><dd>20.00 USD</dd>" in refund_entry
    assert "<dt>Customer emailed</dt><dd>yes</dd>" in refund_entry
    assert "notifyCustomer" not in refund_entry
    assert refund_entry.count("badge-status-cancelled") == 1  # not "Cancelled → Cancelled"


# --- the confirmation is styled --------------------------------------------------------------------


def test_action_confirmation_is_a_styled_status_message(admin_client_member, paid):
    data = open_form(admin_client_member, paid, "refund")
    data.update(amount="5.00")
    html = submit(admin_client_member, paid, "refund", data).content.decode()
    assert '<div id="action-status" hx-swap-oob="innerHTML"><p class="message message-success">' in html
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    # styled wherever it appears (the order page's live region is not inside .messages)
    rule = re.search(r"^\.message \{([^}]*)\}", css, re.M)
    assert rule
    assert "background" in rule.group(1)
    assert "border" in rule.group(1)


# --- text limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "field"), [("cancel", "reason"), ("refund", "reason")])
def test_text_areas_carry_the_apis_limit(admin_client_member, paid, action, field):
    html = admin_client_member.get(action_url(paid, action), **HTMX_DIALOG).content.decode()
    assert re.search(rf'<textarea[^>]*name="{field}"[^>]*maxlength="500"', html)


def test_status_note_carries_the_apis_limit(admin_client_member, paid):
    html = admin_client_member.get(
        action_url(paid, "status") + "?status=shipped", **HTMX_DIALOG
    ).content.decode()
    assert re.search(r'<textarea[^>]*name="note"[^>]*maxlength="500"', html)


# --- sign-in error ---------------------------------------------------------------------------------


def test_sign_in_error_names_the_email_field(client, viewer):
    html = client.post(reverse("dashboard:login"), {"username": viewer.username, "password": "no"}).content
    assert "Enter a correct email and password" in html.decode()
    assert "username" not in re.search(r'<div class="alert alert-error".*?</div>', html.decode(), re.S).group(
        0
    )


# --- metadata rows ---------------------------------------------------------------------------------


def test_metadata_dialog_has_one_blank_row_and_an_add_row_button(support_client, store):
    order = make_order(store, metadata={"giftWrap": "yes"})
    html = support_client.get(action_url(order, "metadata"), **HTMX_DIALOG).content.decode()
    fields = form_fields(html)
    assert fields["meta-TOTAL_FORMS"] == "2"  # the existing key and one blank row
    assert re.search(r'<button type="submit" name="add_row"[^>]*>Add row</button>', html)


def test_add_row_without_javascript_keeps_what_was_typed_and_saves_nothing(support_client, store):
    order = make_order(store, metadata={"giftWrap": "yes"})
    data = form_fields(support_client.get(action_url(order, "metadata")).content.decode())
    data.update({"meta-1-key": "channel", "meta-1-value": "phone", "add_row": "1"})
    # when: the page of its own (no JavaScript), "Add row" pressed
    response = submit(support_client, order, "metadata", data, htmx=False)
    # then: the form again, one more blank row, nothing sent to the API
    html = response.content.decode()
    again = form_fields(html)
    assert response.status_code == 200
    assert again["meta-TOTAL_FORMS"] == "3"
    assert (again["meta-1-key"], again["meta-1-value"]) == ("channel", "phone")
    assert again["meta-2-key"] == ""
    assert "Nothing changed" not in html
    order.refresh_from_db()
    assert order.metadata == {"giftWrap": "yes"}
    # and saving from there sends both rows
    again.update({"meta-2-key": "source", "meta-2-value": "web"})
    submit(support_client, order, "metadata", again, htmx=False)
    order.refresh_from_db()
    assert order.metadata == {"giftWrap": "yes", "channel": "phone", "source": "web"}


# --- audit actor filter ----------------------------------------------------------------------------


def test_audit_actor_filter_matches_part_of_the_name(viewer_client, store):
    order = make_order(store, status="confirmed")
    HistoryEntry.objects.create(
        store=store,
        order=order,
        kind=HistoryEntry.Kind.STATUS,
        from_status="confirmed",
        to_status="processing",
        changed_at=datetime(2026, 3, 1, tzinfo=UTC),
        actor_type="user",
        actor_name="Marta Esposito",
    )
    html = viewer_client.get(AUDIT, {"actor": "esPOS"}).content.decode()
    assert "<strong>1</strong> change" in html
    assert "Marta Esposito" in html


# --- webhooks --------------------------------------------------------------------------------------


@pytest.fixture
def endpoint(admin_client_member, store):
    from tests.orders.webhooks.conftest import make_endpoint

    endpoint, _ = make_endpoint(store, "https://hooks.example.com/x")
    return endpoint


def test_rotate_secret_asks_first_without_javascript(admin_client_member, endpoint):
    rotate = reverse("dashboard:webhook_rotate_secret", args=["acme", endpoint.id])
    detail = admin_client_member.get(reverse("dashboard:webhook_detail", args=["acme", endpoint.id])).content
    # the detail page only links to the confirmation; no one-click rotation
    assert f'<form method="post" action="{rotate}"' not in detail.decode()
    assert f'href="{rotate}"' in detail.decode()
    page = admin_client_member.get(rotate)
    assert page.status_code == 200
    assert "Rotate the signing secret?" in page.content.decode()
    assert f'<form method="post" action="{rotate}"' in page.content.decode()


def test_endpoint_disabled_in_the_dashboard_names_who_disabled_it(
    admin_client_member, admin_member, endpoint
):
    admin_member.first_name, admin_member.last_name = "Ada", "Admin"
    admin_member.save()
    detail = reverse("dashboard:webhook_detail", args=["acme", endpoint.id])
    toggle = reverse("dashboard:webhook_toggle", args=["acme", endpoint.id])
    html = admin_client_member.get(detail).content.decode()
    form = re.search(rf'<form method="post" action="{re.escape(toggle)}".*?</form>', html, re.S).group(0)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    # when
    page = admin_client_member.post(toggle, {"idempotency_key": key, "enabled": ""}, follow=True)
    # then
    html = page.content.decode()
    assert "Disabled through the API" not in html
    assert re.search(r"Disabled by Ada Admin on \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", html)


def test_endpoint_disabled_with_a_bare_api_key_names_the_key(api, endpoint):
    body = api.put_json(f"/api/v1/webhooks/{endpoint.id}", {"enabled": False}).json()["data"]
    assert re.fullmatch(
        r"Disabled with the API key “Test key” on \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", body["disabledReason"]
    )
