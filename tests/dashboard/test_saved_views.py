"""Saved views of the orders list: shared per store, managed by admins, each member's default view."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from dashboard.models import DefaultSavedView, SavedView
from tests.factories import make_order

LIST = "/stores/acme/orders/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "orders-table"}


def order_numbers(html: str) -> list[str]:
    return re.findall(r'class="order-link"[^>]*>(ORD-\d+)<', html)


def tab_names(html: str) -> list[str]:
    return re.findall(r'<a class="tab" [^>]*>([^<]+)', html)


def active_tabs(html: str) -> list[str]:
    return re.findall(r'<a class="tab" [^>]*aria-current="page">([^<]+)', html)


def view_named(connection, name: str) -> SavedView:
    return SavedView.objects.get(store=connection, name=name)


@pytest.fixture
def orders(store):
    made = {}
    for day, status in enumerate(
        ["pending", "confirmed", "processing", "partially_shipped", "shipped", "delivered", "cancelled"], 1
    ):
        made[status] = make_order(store, status=status, created_at=datetime(2024, 3, day, 9, tzinfo=UTC))
    return made


# --- the defaults -----------------------------------------------------------------------------------


def test_a_new_store_connection_starts_with_the_three_default_views(connection):
    views = list(SavedView.objects.filter(store=connection).values_list("name", "query"))
    assert views == [
        ("Unfulfilled", "status=confirmed&status=partially_shipped&status=processing&sort=createdAt"),
        ("Unpaid", "status=pending&payment_status=unpaid&sort=createdAt"),
        ("Needs attention", "status=partially_delivered&status=partially_shipped&sort=updatedAt"),
    ]


def test_saving_a_connection_again_does_not_bring_deleted_views_back(connection):
    SavedView.objects.filter(store=connection).delete()
    connection.name = "Renamed"
    connection.save()
    assert not SavedView.objects.filter(store=connection).exists()


def test_tabs_above_the_list_open_each_view_filtered(viewer_client, connection, orders):
    html = viewer_client.get(f"{LIST}?view=all").content.decode()
    assert [t.strip() for t in tab_names(html)] == ["All orders", "Unfulfilled", "Unpaid", "Needs attention"]
    assert [t.strip() for t in active_tabs(html)] == ["All orders"]

    unfulfilled = viewer_client.get(
        f"{LIST}?status=confirmed&status=partially_shipped&status=processing&sort=createdAt"
    ).content.decode()
    # oldest first: confirmed (2 March), processing (3), partially shipped (4)
    assert order_numbers(unfulfilled) == ["ORD-000002", "ORD-000003", "ORD-000004"]
    assert [t.strip() for t in active_tabs(unfulfilled)] == ["Unfulfilled"]
    assert "Paid orders still to ship" in unfulfilled  # the view's help text under the tabs

    unpaid = viewer_client.get(f"{LIST}?status=pending&payment_status=unpaid&sort=createdAt").content.decode()
    assert order_numbers(unpaid) == ["ORD-000001"]


def test_the_same_filters_in_another_order_mark_the_same_tab(viewer_client, connection, orders):
    # given the Unfulfilled filters, statuses shuffled, with paging and the page size in the URL
    query = "sort=createdAt&status=processing&page_size=50&status=confirmed&status=partially_shipped&page=1"
    # then the Unfulfilled tab is the current one
    html = viewer_client.get(f"{LIST}?{query}").content.decode()
    assert [t.strip() for t in active_tabs(html)] == ["Unfulfilled"]


def test_filters_matching_no_view_mark_no_tab_and_offer_admins_to_save_them(
    admin_client_member, connection, orders
):
    html = admin_client_member.get(f"{LIST}?status=shipped&sort=-total").content.decode()
    assert active_tabs(html) == []
    create = reverse("dashboard:saved_view_create", args=["acme"])
    assert f'href="{create}?status=shipped&amp;sort=-total"' in html


def test_htmx_filter_change_updates_the_tabs_out_of_band(viewer_client, connection, orders):
    html = viewer_client.get(
        LIST, {"status": ["pending"], "payment_status": "unpaid", "sort": "createdAt"}, **HTMX
    )
    html = html.content.decode()
    assert html.lstrip().startswith('<section id="orders-table"')
    oob = re.search(r'<nav id="view-tabs"[^>]*hx-swap-oob="true"', html)
    assert oob, "the tabs are not in the partial answer"
    assert [t.strip() for t in active_tabs(html)] == ["Unpaid"]


# --- each user's default view -------------------------------------------------------------------------


def test_the_bare_list_opens_on_the_users_default_view(viewer_client, viewer, connection, orders):
    # given the viewer picks Unpaid as their default
    unpaid = view_named(connection, "Unpaid")
    response = viewer_client.post(
        reverse("dashboard:saved_view_default", args=["acme"]), {"view": str(unpaid.pk)}
    )
    assert response.status_code == 302
    # when they open the list without a query (the Orders link)
    response = viewer_client.get(LIST)
    # then they land on Unpaid, marked as their default
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?status=pending&payment_status=unpaid&sort=createdAt"
    html = viewer_client.get(response["Location"]).content.decode()
    assert order_numbers(html) == ["ORD-000001"]
    assert re.search(r'aria-current="page">Unpaid <span class="tab-default">your default</span>', html)


def test_all_orders_stays_reachable_with_a_default_view(viewer_client, viewer, connection, orders):
    DefaultSavedView.objects.create(user=viewer, store=connection, view=view_named(connection, "Unpaid"))
    html = viewer_client.get(f"{LIST}?view=all").content.decode()
    assert len(order_numbers(html)) == 7
    assert [t.strip() for t in active_tabs(html)] == ["All orders"]
    # and "All orders" can be made the default again
    viewer_client.post(reverse("dashboard:saved_view_default", args=["acme"]), {"view": "all"})
    assert viewer_client.get(LIST).status_code == 200
    assert not DefaultSavedView.objects.filter(user=viewer).exists()


def test_reset_and_clear_filters_lead_to_all_orders_not_the_default(
    viewer_client, viewer, connection, orders
):
    DefaultSavedView.objects.create(user=viewer, store=connection, view=view_named(connection, "Unpaid"))
    html = viewer_client.get(LIST, {"search": "nobody-here"}).content.decode()
    assert "No orders match these filters." in html
    assert html.count(f'href="{LIST}?view=all"') == 3  # the All orders tab, Reset, Clear filters


def test_htmx_requests_to_the_bare_list_are_never_redirected(viewer_client, viewer, connection, orders):
    DefaultSavedView.objects.create(user=viewer, store=connection, view=view_named(connection, "Unpaid"))
    assert viewer_client.get(LIST, **HTMX).status_code == 200


def test_a_default_view_is_each_users_own(viewer_client, viewer, support, connection, client, orders):
    viewer_client.post(
        reverse("dashboard:saved_view_default", args=["acme"]),
        {"view": str(view_named(connection, "Needs attention").pk)},
    )
    client.force_login(support)
    assert client.get(LIST).status_code == 200  # support has none: All orders, no redirect


def test_another_stores_view_cannot_be_a_default(viewer_client, viewer, other_connection):
    foreign = SavedView.objects.filter(store=other_connection).first()
    response = viewer_client.post(
        reverse("dashboard:saved_view_default", args=["acme"]), {"view": str(foreign.pk)}
    )
    assert response.status_code == 404
    assert not DefaultSavedView.objects.filter(user=viewer).exists()


def test_deleting_a_default_view_sends_its_users_to_all_orders(
    admin_client_member, viewer, connection, client
):
    unpaid = view_named(connection, "Unpaid")
    DefaultSavedView.objects.create(user=viewer, store=connection, view=unpaid)
    admin_client_member.post(reverse("dashboard:saved_view_delete", args=["acme", unpaid.pk]))
    client.force_login(viewer)
    assert client.get(LIST).status_code == 200


# --- admins manage the shared views ----------------------------------------------------------------


@pytest.mark.parametrize("role_client", ["viewer_client", "support_client"])
@pytest.mark.parametrize(
    ("method", "name", "with_view"),
    [
        ("get", "saved_view_manage", False),
        ("get", "saved_view_create", False),
        ("post", "saved_view_create", False),
        ("post", "saved_view_edit", True),
        ("post", "saved_view_delete", True),
        ("post", "saved_view_move", True),
    ],
)
def test_only_admins_manage_views(request, role_client, method, name, with_view, connection):
    client = request.getfixturevalue(role_client)
    view = view_named(connection, "Unpaid")
    args = ["acme", view.pk] if with_view else ["acme"]
    response = getattr(client, method)(
        reverse(f"dashboard:{name}", args=args), {"name": "Mine", "status": "shipped", "direction": "left"}
    )
    assert response.status_code == 403
    assert list(SavedView.objects.filter(store=connection).values_list("name", flat=True)) == [
        "Unfulfilled",
        "Unpaid",
        "Needs attention",
    ]


def test_tabs_show_management_links_to_admins_only(viewer_client, admin_member, connection, client):
    manage = reverse("dashboard:saved_view_manage", args=["acme"])
    assert manage not in viewer_client.get(f"{LIST}?status=shipped").content.decode()
    client.force_login(admin_member)
    assert manage in client.get(f"{LIST}?status=shipped").content.decode()


def test_admin_saves_the_lists_filters_as_a_view_everyone_sees(
    admin_client_member, connection, viewer, client
):
    create = reverse("dashboard:saved_view_create", args=["acme"])
    # the form opens with the list's filters
    form = admin_client_member.get(f"{create}?status=shipped&sort=-total").content.decode()
    assert re.search(r'<input[^>]*value="shipped"[^>]*checked', form)
    # when saved
    response = admin_client_member.post(
        create,
        {
            "name": "  Big shipments ",
            "description": "Check the courier",
            "status": "shipped",
            "sort": "-total",
        },
    )
    # then the view is stored normalised, last in the tab bar, and opened
    view = view_named(connection, "Big shipments")
    assert view.query == "status=shipped&sort=-total"
    assert response["Location"] == f"{LIST}?status=shipped&sort=-total"
    client.force_login(viewer)
    html = client.get(response["Location"]).content.decode()
    assert [t.strip() for t in tab_names(html)][-1] == "Big shipments"
    assert [t.strip() for t in active_tabs(html)] == ["Big shipments"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "unpaid", "status": "shipped"}, "There is already a view named"),
        ({"name": "All orders", "status": "shipped"}, "There is already a view named"),
        ({"name": "Everything", "sort": "-createdAt"}, "it would show the same as"),
        ({"name": "Bad", "status": "lost"}, "Some filters are not valid"),
        ({"name": "Bad dates", "created_from": "2024-05-02", "created_to": "2024-05-01"}, "on or after"),
        ({"name": "", "status": "shipped"}, "This field is required"),
    ],
)
def test_an_invalid_view_is_a_form_error(admin_client_member, connection, data, message):
    response = admin_client_member.post(reverse("dashboard:saved_view_create", args=["acme"]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert SavedView.objects.filter(store=connection).count() == 3


def test_admin_edits_a_view(admin_client_member, connection):
    view = view_named(connection, "Needs attention")
    edit = reverse("dashboard:saved_view_edit", args=["acme", view.pk])
    form = admin_client_member.get(edit).content.decode()
    assert re.search(r'<input[^>]*value="partially_delivered"[^>]*checked', form)
    response = admin_client_member.post(
        edit, {"name": "Stuck", "status": ["processing", "partially_shipped"], "sort": "updatedAt"}
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.name, view.query, view.description) == (
        "Stuck",
        "status=partially_shipped&status=processing&sort=updatedAt",
        "",
    )


def test_admin_reorders_views(admin_client_member, connection):
    needs = view_named(connection, "Needs attention")
    move = reverse("dashboard:saved_view_move", args=["acme", needs.pk])
    admin_client_member.post(move, {"direction": "left"})
    admin_client_member.post(move, {"direction": "left"})
    admin_client_member.post(move, {"direction": "left"})  # already first: stays
    names = list(SavedView.objects.filter(store=connection).values_list("name", flat=True))
    assert names == ["Needs attention", "Unfulfilled", "Unpaid"]
    admin_client_member.post(move, {"direction": "right"})
    names = list(SavedView.objects.filter(store=connection).values_list("name", flat=True))
    assert names == ["Unfulfilled", "Needs attention", "Unpaid"]


def test_delete_asks_first_then_deletes(admin_client_member, connection):
    view = view_named(connection, "Unpaid")
    delete = reverse("dashboard:saved_view_delete", args=["acme", view.pk])
    page = admin_client_member.get(delete)
    assert "Delete the view “Unpaid”?" in page.content.decode()
    assert SavedView.objects.filter(pk=view.pk).exists()
    admin_client_member.post(delete)
    assert not SavedView.objects.filter(pk=view.pk).exists()


@pytest.mark.parametrize("name", ["saved_view_edit", "saved_view_delete", "saved_view_move"])
def test_another_stores_view_is_404(admin_client_member, other_connection, name):
    foreign = SavedView.objects.filter(store=other_connection).first()
    response = admin_client_member.post(
        reverse(f"dashboard:{name}", args=["acme", foreign.pk]), {"name": "x"}
    )
    assert response.status_code == 404
    assert SavedView.objects.filter(store=other_connection).count() == 3


def test_a_store_the_user_is_not_a_member_of_is_404(outsider, client, connection):
    client.force_login(outsider)
    assert client.get(reverse("dashboard:saved_view_manage", args=["acme"])).status_code == 404
    response = client.post(reverse("dashboard:saved_view_default", args=["acme"]), {"view": "all"})
    assert response.status_code == 404


def test_view_names_and_descriptions_are_escaped(admin_client_member, connection):
    admin_client_member.post(
        reverse("dashboard:saved_view_create", args=["acme"]),
        {"name": "<b>x</b>", "description": "<script>alert(1)</script>", "status": "shipped"},
    )
    html = admin_client_member.get(f"{LIST}?status=shipped").content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_manage_page_lists_views_with_their_filters_in_words(admin_client_member, connection):
    html = admin_client_member.get(reverse("dashboard:saved_view_manage", args=["acme"])).content.decode()
    assert "Status: Confirmed, Partially shipped, Processing" in html
    assert "Payment: Unpaid" in html
    assert "Sort: Least recently updated" in html


@pytest.mark.django_db(transaction=True)
def test_migration_gives_connections_made_before_saved_views_the_default_views():
    from django.db import connection as db
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("dashboard", "0002_staff_notes")], [("dashboard", "0003_saved_views")]
    executor = MigrationExecutor(db)
    executor.migrate(before)
    try:
        # given a connection saved before the migration (no signal: the historical model)
        old_apps = executor.loader.project_state(before).apps
        old_apps.get_model("dashboard", "StoreConnection").objects.create(
            name="Old shop", slug="old-shop", api_key_encrypted="x", api_key_prefix="sk_test_x"
        )
        # when
        executor = MigrationExecutor(db)
        executor.migrate(after)
        # then
        new_apps = executor.loader.project_state(after).apps
        views = new_apps.get_model("dashboard", "SavedView").objects.filter(store__slug="old-shop")
        assert list(views.order_by("position").values_list("name", "query")) == [
            ("Unfulfilled", "status=confirmed&status=partially_shipped&status=processing&sort=createdAt"),
            ("Unpaid", "status=pending&payment_status=unpaid&sort=createdAt"),
            ("Needs attention", "status=partially_delivered&status=partially_shipped&sort=updatedAt"),
        ]
    finally:
        executor = MigrationExecutor(db)
        executor.migrate(executor.loader.graph.leaf_nodes())
