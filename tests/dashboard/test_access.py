"""Every dashboard URL × {anonymous, non-member, viewer, support, admin} → the expected status.

Generated from dashboard.urls.urlpatterns: a new view without an entry in ACCESS fails
`test_every_url_has_an_access_rule`, so no view ships without its permission being tested.
"""

import pytest
from django.urls import reverse

from dashboard import urls as dashboard_urls
from dashboard.models import BulkJob, Role, SavedView
from dashboard.notes import add_note
from tests.dashboard.conftest import make_member
from tests.dashboard.test_webhooks_pages import make_endpoint_with_delivery
from tests.factories import make_order

PUBLIC = "public"  # no sign-in needed
SIGNED_IN = "signed-in"  # any signed-in user, no store
# URL name → who may open it: PUBLIC, SIGNED_IN, or the lowest store role.
ACCESS = {
    "login": PUBLIC,
    "logout": PUBLIC,
    "home": SIGNED_IN,
    "order_list": Role.VIEWER,
    "order_detail": Role.VIEWER,
    "order_export": Role.SUPPORT,
    "order_status_update": Role.SUPPORT,
    "order_link": Role.SUPPORT,
    "order_metadata_edit": Role.SUPPORT,
    "order_cancel": Role.ADMIN,
    "order_refund": Role.ADMIN,
    "order_note_add": Role.SUPPORT,
    "order_note_edit": Role.SUPPORT,
    "order_note_delete": Role.SUPPORT,
    "store_overview": Role.VIEWER,
    "history_list": Role.VIEWER,
    "history_export": Role.SUPPORT,
    "webhook_list": Role.ADMIN,
    "webhook_create": Role.ADMIN,
    "webhook_detail": Role.ADMIN,
    "webhook_edit": Role.ADMIN,
    "webhook_delete": Role.ADMIN,
    "webhook_toggle": Role.ADMIN,
    "webhook_rotate_secret": Role.ADMIN,
    "webhook_test": Role.ADMIN,
    "webhook_delivery_retry": Role.ADMIN,
    "saved_view_manage": Role.ADMIN,
    "saved_view_create": Role.ADMIN,
    "saved_view_edit": Role.ADMIN,
    "saved_view_delete": Role.ADMIN,
    "saved_view_move": Role.ADMIN,
    "saved_view_default": Role.VIEWER,
    # Bulk jobs (issue 13); the cancel-jobs role is checked per action in tests/dashboard/test_bulk_views.py.
    "job_list": Role.VIEWER,
    "job_detail": Role.VIEWER,
    "job_results_csv": Role.VIEWER,
    "job_new": Role.SUPPORT,
    "job_cancel": Role.SUPPORT,
    "job_resume": Role.SUPPORT,
    "tracking_upload": Role.SUPPORT,
    "selection_export": Role.SUPPORT,
}
# POST-only bulk views: a GET by an allowed role is sent back where it came from (302), nothing done.
REDIRECT_ON_GET = {"job_new", "job_cancel", "job_resume", "selection_export"}
# Views that only accept POST (Django's LogoutView).
POST_ONLY = {"logout"}
# Action buttons that only accept POST: an empty form is refused with a redirect back (302), nothing done.
POST_ACTIONS = {"webhook_toggle", "webhook_rotate_secret", "webhook_test", "webhook_delivery_retry"}
# Saved-view buttons that only accept POST (an empty form does nothing and redirects back).
VIEW_POST_ACTIONS = {"saved_view_move", "saved_view_default"}
# Staff notes, POST only: an empty (or refused) form comes back as a message on the order page (302).
NOTE_POSTS = {"order_note_add", "order_note_edit", "order_note_delete"}
# Webhook views that act on POST (the forms and the buttons): checked per persona below.
WEBHOOK_POSTS = POST_ACTIONS | {"webhook_create", "webhook_edit", "webhook_delete"}
# Views that render a form on GET and act on POST: the role is checked for both (the POST matrix below).
ALSO_POST = {"order_status_update", "order_link", "order_metadata_edit", "order_cancel", "order_refund"}
RANK = {Role.VIEWER: 1, Role.SUPPORT: 2, Role.ADMIN: 3}
PERSONAS = ["anonymous", "non_member", Role.VIEWER, Role.SUPPORT, Role.ADMIN]


def url_names():
    return [p.name for p in dashboard_urls.urlpatterns]


def test_every_url_has_an_access_rule():
    assert set(url_names()) == set(ACCESS), "add the new view to ACCESS with its minimum role"


def test_store_views_declare_the_role_the_table_expects():
    from dashboard.permissions import MINIMUM_ROLE

    for pattern in dashboard_urls.urlpatterns:
        action = getattr(pattern.callback, "required_action", None)
        if isinstance(ACCESS[pattern.name], Role):
            assert action is not None, f"{pattern.name} is not wrapped in store_view"
            assert MINIMUM_ROLE[action] == ACCESS[pattern.name], pattern.name


def expected_status(rule, persona):
    if rule == PUBLIC:
        return None  # checked separately below: any non-error answer
    if persona == "anonymous":
        return "login"
    if rule == SIGNED_IN:
        return None
    if persona == "non_member":
        return 404
    return 200 if RANK[persona] >= RANK[rule] else 403


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", url_names())
def test_access_matrix(client, connection, other_connection, store, name, persona):
    # given
    order = make_order(store)
    if persona == "non_member":
        client.force_login(make_member("stranger@example.com", other_connection, Role.ADMIN))
    elif persona != "anonymous":
        client.force_login(make_member(f"{persona}@example.com", connection, persona))
    pattern = next(p for p in dashboard_urls.urlpatterns if p.name == name)
    endpoint, delivery = make_endpoint_with_delivery(store)
    values = {
        "store_slug": connection.slug,
        "order_id": str(order.id),
        "webhook_id": str(endpoint.id),
        "delivery_id": str(delivery.id),
        "view_id": SavedView.objects.filter(store=connection).first().pk,
        "job_id": BulkJob.objects.create(store=connection, created_by_name="x", action="note", params={}).pk,
        "note_id": add_note(
            connection, str(order.id), make_member("author@example.com", None, None), "A note"
        ).pk,
    }
    url = reverse(f"dashboard:{name}", kwargs={k: values[k] for k in pattern.pattern.converters})
    # when
    posts = POST_ONLY | POST_ACTIONS | VIEW_POST_ACTIONS | NOTE_POSTS
    response = client.post(url) if name in posts else client.get(url)
    # then
    expected = expected_status(ACCESS[name], persona)
    if expected == 200 and name in POST_ACTIONS | VIEW_POST_ACTIONS | NOTE_POSTS | REDIRECT_ON_GET:
        expected = 302
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("dashboard:login"))
    elif expected is None:
        assert response.status_code in {200, 302}
    else:
        assert response.status_code == expected, (name, persona, response.status_code)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", sorted(ALSO_POST))
def test_post_access_matrix(client, connection, other_connection, store, name, persona):
    # given
    order = make_order(store)
    if persona == "non_member":
        client.force_login(make_member("stranger@example.com", other_connection, Role.ADMIN))
    elif persona != "anonymous":
        client.force_login(make_member(f"{persona}@example.com", connection, persona))
    url = reverse(f"dashboard:{name}", kwargs={"store_slug": connection.slug, "order_id": str(order.id)})
    # when: an empty form (allowed roles get it back with errors; nothing is done)
    response = client.post(url, {})
    # then
    expected = expected_status(ACCESS[name], persona)
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("dashboard:login"))
    else:
        assert response.status_code == expected, (name, persona, response.status_code)
    assert order.history.count() == 1


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", sorted(WEBHOOK_POSTS))
def test_webhook_post_access_matrix(client, connection, other_connection, store, name, persona):
    # given
    endpoint, delivery = make_endpoint_with_delivery(store)
    if persona == "non_member":
        client.force_login(make_member("stranger@example.com", other_connection, Role.ADMIN))
    elif persona != "anonymous":
        client.force_login(make_member(f"{persona}@example.com", connection, persona))
    pattern = next(p for p in dashboard_urls.urlpatterns if p.name == name)
    values = {"store_slug": connection.slug, "webhook_id": str(endpoint.id), "delivery_id": str(delivery.id)}
    url = reverse(f"dashboard:{name}", kwargs={k: values[k] for k in pattern.pattern.converters})
    # when: a form without its Idempotency-Key (allowed: refused, nothing done)
    response = client.post(
        url, {"url": "https://hooks.example.com/changed", "event_types": ["order.created"]}
    )
    # then
    expected = expected_status(ACCESS[name], persona)
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("dashboard:login"))
    elif expected == 200:
        assert response.status_code in {200, 302}, (name, persona, response.status_code)
    else:
        assert response.status_code == expected, (name, persona, response.status_code)
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.enabled) == ("https://hooks.example.com/orders", True)
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_another_stores_order_through_my_store_url_is_404(viewer_client, connection, other_store):
    # given an order of a store the viewer has no access to
    foreign = make_order(other_store)
    # when
    response = viewer_client.get(reverse("dashboard:order_detail", args=[connection.slug, foreign.id]))
    # then: the API (scoped by my store's key) does not know it
    assert response.status_code == 404
    assert foreign.display_number not in response.content.decode()
