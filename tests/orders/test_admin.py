"""The Django admin shows orders and their history read-only; history is append-only everywhere."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from orders.models import HistoryEntry, Order
from orders.statuses import OrderStatus
from tests.factories import make_order


@pytest.fixture
def admin_client_(db):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client, user


def entry_of(store) -> HistoryEntry:
    return make_order(store, status=OrderStatus.CONFIRMED).history.get()


def test_history_admin_has_no_add_change_or_delete_permission_even_for_superusers(admin_client_, store):
    # given
    _, user = admin_client_
    entry = entry_of(store)
    model_admin = admin.site._registry[HistoryEntry]
    request = type("Request", (), {"user": user})()

    # then
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request, entry) is False
    assert model_admin.has_delete_permission(request, entry) is False
    assert model_admin.has_view_permission(request, entry) is True


def test_history_change_view_renders_read_only_and_refuses_edits(admin_client_, store):
    # given
    client, _ = admin_client_
    entry = entry_of(store)
    url = reverse("admin:orders_historyentry_change", args=[entry.pk])

    # when
    page = client.get(url)
    post = client.post(url, {"note": "rewritten", "to_status": "refunded"})

    # then
    assert page.status_code == 200
    assert b'name="note"' not in page.content  # no editable input
    assert post.status_code == 403
    entry.refresh_from_db()
    assert (entry.note, entry.to_status) == ("", "confirmed")


def test_history_delete_view_and_add_view_are_refused(admin_client_, store):
    # given
    client, _ = admin_client_
    entry = entry_of(store)

    # when
    delete = client.post(reverse("admin:orders_historyentry_delete", args=[entry.pk]), {"post": "yes"})
    add = client.get(reverse("admin:orders_historyentry_add"))

    # then
    assert delete.status_code == 403
    assert add.status_code == 403
    assert HistoryEntry.objects.filter(pk=entry.pk).exists()


def test_order_change_view_is_read_only_with_history_inline(admin_client_, store):
    # given
    client, _ = admin_client_
    order = make_order(store, status=OrderStatus.CONFIRMED)
    url = reverse("admin:orders_order_change", args=[order.pk])

    # when
    page = client.get(url)
    post = client.post(url, {"status": "delivered"})

    # then
    assert page.status_code == 200
    assert post.status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED


def test_saving_an_existing_history_entry_raises(store):
    # given
    entry = entry_of(store)
    entry.note = "rewritten"

    # when / then
    with pytest.raises(ValueError, match="append-only"):
        entry.save()


def test_deleting_a_history_entry_raises(store):
    # given
    entry = entry_of(store)

    # when / then
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert HistoryEntry.objects.filter(pk=entry.pk).exists()
