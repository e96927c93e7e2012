"""Staff notes: written on the order page, kept in the dashboard's database, merged into the order's
timeline and the audit view by time, never sent to the API; edit/delete only your own within 15 minutes,
admins delete any; viewers read only."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from dashboard.models import StaffNote
from dashboard.notes import EDIT_WINDOW, NoteRefused, add_note, can_delete, can_edit, delete_note, edit_note
from orders.models import HistoryEntry, Order
from tests.dashboard.conftest import make_member
from tests.factories import make_order

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "order-history"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def order(store, connection):
    order = make_order(store, status="confirmed", created_at=T0)
    HistoryEntry.objects.create(
        store=store,
        order=order,
        kind="status",
        from_status="confirmed",
        to_status="processing",
        changed_at=T0 + timedelta(hours=2),
        actor_type="user",
        actor_name="Pat Packer",
        note="Packing started",
    )
    Order.objects.filter(pk=order.pk).update(status="processing")
    return order


def page(client, order) -> str:
    return client.get(f"/stores/acme/orders/{order.id}/").content.decode()


def notes_url(order, *rest) -> str:
    return f"/stores/acme/orders/{order.id}/notes/" + "".join(f"{part}/" for part in rest)


def test_a_note_is_stored_in_the_dashboard_and_shown_in_the_timeline_by_time(
    support_client, support, connection, order
):
    # given: an earlier note, written between the creation and the move to processing
    with freeze_time(T0 + timedelta(hours=1)):
        add_note(connection, str(order.id), support, "Asked for a gift receipt")
    api_state = (order.metadata, order.notes, order.history.count())
    # when
    response = support_client.post(
        notes_url(order), {"body": "Customer called: <b>leave at door</b>"}, **HTMX
    )
    # then: the refreshed timeline comes back, text escaped
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="order-history"')
    assert "Customer called: &lt;b&gt;leave at door&lt;/b&gt;" in html
    note = StaffNote.objects.latest("id")
    assert (note.order_id, note.author, note.order_number) == (str(order.id), support, order.display_number)
    # and nothing went to the API
    order.refresh_from_db()
    assert (order.metadata, order.notes, order.history.count()) == api_state
    # and the page shows both by time: creation, earlier note, status change, the new note
    full = page(support_client, order)
    positions = [full.index(text) for text in ("Created", "gift receipt", "Packing started", "leave at door")]
    assert positions == sorted(positions)


def test_the_note_form_limits_length_and_refuses_empty_text(support_client, order):
    html = page(support_client, order)
    assert re.search(r'<textarea name="body"[^>]*maxlength="2000"', html)
    empty = support_client.post(notes_url(order), {"body": "   "}, **HTMX).content.decode()
    too_long = support_client.post(notes_url(order), {"body": "x" * 2001}, **HTMX).content.decode()
    assert "Write something first." in empty
    assert "at most 2000 characters" in too_long
    assert not StaffNote.objects.exists()


def test_without_javascript_adding_a_note_redirects_to_the_timeline(support_client, order):
    response = support_client.post(notes_url(order), {"body": "Called the courier"})
    assert response.status_code == 302
    assert response["Location"] == f"/stores/acme/orders/{order.id}/#order-history"
    assert "Note added." in support_client.get(response["Location"]).content.decode()


def test_viewers_read_notes_but_cannot_write(viewer_client, support, connection, order):
    # given
    add_note(connection, str(order.id), support, "Fragile")
    # when
    html = page(viewer_client, order)
    refused = viewer_client.post(notes_url(order), {"body": "mine"}, **HTMX)
    # then
    assert "Fragile" in html
    assert 'id="note-form"' not in html
    assert "/edit/" not in html
    assert refused.status_code == 403
    assert StaffNote.objects.count() == 1


def written_ago(connection, order, author, body: str, age: timedelta) -> StaffNote:
    """A note written `age` before now (the requests then run at the real time)."""
    with freeze_time(timezone.now() - age):
        return add_note(connection, str(order.id), author, body)


def test_the_author_edits_within_15_minutes_and_is_told_why_not_after(
    support_client, support, connection, order
):
    # given
    fresh = written_ago(connection, order, support, "First text", timedelta(minutes=14))
    stale = written_ago(connection, order, support, "Old text", timedelta(minutes=16))
    # when
    ok = support_client.post(notes_url(order, fresh.pk, "edit"), {"body": "Second text"}, **HTMX)
    late = support_client.post(notes_url(order, stale.pk, "edit"), {"body": "Third"}, **HTMX).content.decode()
    html = page(support_client, order)
    # then: the fresh one changed; the stale one refused with a sentence, and it offers no controls
    assert "Note saved." in ok.content.decode()
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.body == "Second text"
    assert "This note can no longer be edited: notes can be changed for 15 minutes" in late
    assert stale.body == "Old text"
    assert f'action="{notes_url(order, fresh.pk, "edit")}"' in html
    assert f'action="{notes_url(order, stale.pk, "edit")}"' not in html
    assert f'action="{notes_url(order, stale.pk, "delete")}"' not in html


def test_the_author_deletes_within_15_minutes_only(support_client, support, connection, order):
    fresh = written_ago(connection, order, support, "Fresh", timedelta(minutes=10))
    stale = written_ago(connection, order, support, "Stale", timedelta(minutes=20))
    assert (
        "Note deleted." in support_client.post(notes_url(order, fresh.pk, "delete"), **HTMX).content.decode()
    )
    late = support_client.post(notes_url(order, stale.pk, "delete"), **HTMX).content.decode()
    assert "This note can no longer be deleted" in late
    assert list(StaffNote.objects.values_list("body", flat=True)) == ["Stale"]


def test_someone_else_cannot_edit_or_delete_a_note(client, connection, support, order):
    # given
    note = add_note(connection, str(order.id), support, "Mine")
    other = make_member("other-support@example.com", connection, "support")
    client.force_login(other)
    # when
    edit = client.post(notes_url(order, note.pk, "edit"), {"body": "Hijacked"}, **HTMX).content.decode()
    delete = client.post(notes_url(order, note.pk, "delete"), **HTMX).content.decode()
    # then
    assert "Only its author can change this note." in edit
    assert "Only its author can change this note (or an admin delete it)." in delete
    note.refresh_from_db()
    assert note.body == "Mine"


def test_admins_delete_any_note_even_after_15_minutes(admin_client_member, support, connection, order):
    # given
    note = written_ago(connection, order, support, "Old note", timedelta(days=3))
    # when
    html = page(admin_client_member, order)
    edit = admin_client_member.post(notes_url(order, note.pk, "edit"), {"body": "x"}, **HTMX)
    delete = admin_client_member.post(notes_url(order, note.pk, "delete"), **HTMX)
    # then: delete offered and done; editing someone else's note is not
    assert f'action="{notes_url(order, note.pk, "delete")}"' in html
    assert f'action="{notes_url(order, note.pk, "edit")}"' not in html
    assert "Only its author can change this note." in edit.content.decode()
    assert "Note deleted." in delete.content.decode()
    assert not StaffNote.objects.exists()


def test_the_rules_at_the_edge_of_the_window(connection, support, admin_member, order):
    with freeze_time(T0):
        note = add_note(connection, str(order.id), support, "Edge")
    assert can_edit(note, support, now=T0 + EDIT_WINDOW)
    assert not can_edit(note, support, now=T0 + EDIT_WINDOW + timedelta(seconds=1))
    assert not can_edit(note, admin_member, now=T0)
    assert can_delete(note, admin_member, "admin", now=T0 + timedelta(days=30))
    assert not can_delete(note, support, "support", now=T0 + timedelta(minutes=20))
    with freeze_time(T0 + timedelta(minutes=20)), pytest.raises(NoteRefused):
        edit_note(note, support, "late")
    with freeze_time(T0 + timedelta(minutes=20)), pytest.raises(NoteRefused):
        delete_note(note, support, "support")


def test_a_note_on_another_stores_order_is_a_404(support_client, other_store):
    # given: an order of another store, reached through this store's connection
    foreign = make_order(other_store)
    # when
    response = support_client.post(notes_url(foreign), {"body": "Where is it?"}, **HTMX)
    # then
    assert response.status_code == 404
    assert not StaffNote.objects.exists()


def test_a_note_id_of_another_order_is_a_404(support_client, connection, support, store, order):
    other_order = make_order(store)
    note = add_note(connection, str(other_order.id), support, "Elsewhere")
    response = support_client.post(notes_url(order, note.pk, "delete"), **HTMX)
    assert response.status_code == 404
    assert StaffNote.objects.filter(pk=note.pk).exists()


# --- the audit view -------------------------------------------------------------------------------


def audit(client, query: str = "") -> str:
    return client.get(f"/stores/acme/audit/{query}").content.decode()


def test_audit_view_shows_notes_merged_by_time(viewer_client, connection, support, order):
    # given: a note written between the two history entries
    with freeze_time(T0 + timedelta(hours=1)):
        add_note(connection, str(order.id), support, "Customer asked for a gift receipt")
    # when
    html = audit(viewer_client)
    # then: newest first — the status change, the note, the creation
    moved, noted = html.index("Packing started"), html.index("Customer asked for a gift receipt")
    assert moved < noted
    assert html.index("Staff note") < html.rindex("Created")
    assert f'href="/stores/acme/orders/{order.id}/#note-' in html


def test_audit_notes_follow_the_filters(viewer_client, connection, support, order):
    with freeze_time(T0 + timedelta(hours=1)):
        add_note(connection, str(order.id), support, "Gift receipt")
    assert "Gift receipt" not in audit(viewer_client, "?status=processing")
    assert "Gift receipt" in audit(viewer_client, "?actor=support@")
    assert "Gift receipt" not in audit(viewer_client, "?actor=Pat")
    assert "Gift receipt" in audit(viewer_client, "?date_from=2026-03-02&date_to=2026-03-02")
    assert "Gift receipt" not in audit(viewer_client, "?date_from=2026-03-03")


def test_audit_pages_show_each_note_once_in_its_time_range(viewer_client, connection, support, store):
    # given: 30 history entries an hour apart (25 per page), a note after the oldest and one after the newest
    made = make_order(store, created_at=T0, history=False)
    for i in range(30):
        HistoryEntry.objects.create(
            store=store,
            order=made,
            kind="status",
            from_status="confirmed",
            to_status="confirmed",
            changed_at=T0 + timedelta(hours=i),
            actor_type="system",
            actor_name="system",
        )
    with freeze_time(T0 + timedelta(hours=1, minutes=30)):
        add_note(connection, str(made.id), support, "Old note")
    with freeze_time(T0 + timedelta(hours=40)):
        add_note(connection, str(made.id), support, "New note")
    # when
    first, second = audit(viewer_client), audit(viewer_client, "?page=2")
    # then
    assert "New note" in first
    assert "Old note" not in first
    assert "Old note" in second
    assert "New note" not in second
