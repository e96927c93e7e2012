"""Staff notes: internal comments on an order, kept in the dashboard's own database (models.StaffNote).

The rules live here, and the views only call them:
- support and admins write notes; viewers read them (`can_write`, the role table's "update");
- the author may edit or delete a note within `EDIT_WINDOW` of writing it; admins may delete any note
  (`can_edit`, `can_delete`; `edit_note` and `delete_note` check again and raise `NoteRefused` with a
  sentence for the person);
- notes never leave the dashboard: nothing here calls the API, so no customer, webhook or API user
  ever sees them.

They are shown with the API's history: `order_timeline` merges them into an order's timeline by time,
`notes_between` gives the audit view the notes of its page's time range.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from dashboard.api_types import HistoryEntry
from dashboard.models import Role, StaffNote, StoreConnection
from dashboard.permissions import StoreAccess, role_allows

# The signed-in person (`request.user`; the note views run behind login_required).
User = Any

EDIT_WINDOW = timedelta(minutes=15)
# The role table's action that writing a note needs (spec/dashboard.md §1): support and admins.
WRITE_ACTION = "update"


class NoteRefused(Exception):
    """An edit or delete the rules do not allow; `str(exc)` says why, for the person."""


def author_display(user: Any) -> str:
    """The name notes show, as the API's history names the same person (dashboard/api.py)."""
    full_name = getattr(user, "get_full_name", lambda: "")()
    return full_name or user.get_username()


def add_note(
    store: StoreConnection, order_id: str, author: User, body: str, *, order_number: str = ""
) -> StaffNote:
    """Write one note; `body` is stripped and must not be empty (callers validate it in their form).
    `order_id` is the API's order UUID; `order_number` (e.g. ORD-000123) only labels it in the audit."""
    body = body.strip()
    if not body:
        raise ValueError("A note needs some text.")
    return StaffNote.objects.create(
        store=store,
        order_id=order_id,
        order_number=order_number,
        author=author,
        author_name=author_display(author),
        body=body,
    )


def can_write(access: StoreAccess) -> bool:
    return role_allows(access.role, WRITE_ACTION)


def can_edit(note: StaffNote, user: User, *, now: datetime | None = None) -> bool:
    """Only the author, and only within EDIT_WINDOW of writing it."""
    now = now or timezone.now()
    return note.author_id is not None and note.author_id == user.pk and now - note.created_at <= EDIT_WINDOW


def can_delete(note: StaffNote, user: User, role: str, *, now: datetime | None = None) -> bool:
    """Admins delete any note; others only what they may still edit."""
    return Role(role) == Role.ADMIN or can_edit(note, user, now=now)


def edit_note(note: StaffNote, user: User, body: str) -> StaffNote:
    """Change the text of `note`; NoteRefused when `user` may not (any more)."""
    if not can_edit(note, user):
        raise NoteRefused(_refusal(note, user, "edited"))
    body = body.strip()
    if not body:
        raise ValueError("A note needs some text.")
    note.body = body
    note.save(update_fields=["body", "updated_at"])
    return note


def delete_note(note: StaffNote, user: User, role: str) -> None:
    """Delete `note`; NoteRefused when `user` with `role` may not."""
    if not can_delete(note, user, role):
        raise NoteRefused(_refusal(note, user, "deleted"))
    note.delete()


def _refusal(note: StaffNote, user: Any, done: str) -> str:
    if note.author_id != user.pk:
        return (
            f"Only its author can change this note{' (or an admin delete it)' if done == 'deleted' else ''}."
        )
    minutes = int(EDIT_WINDOW.total_seconds() // 60)
    written = timezone.localtime(note.created_at).strftime("%H:%M")
    return (
        f"This note can no longer be {done}: notes can be changed for {minutes} minutes after they are "
        f"written, and this one was written at {written}."
    )


def order_notes(store: StoreConnection, order_id: str) -> QuerySet[StaffNote]:
    return StaffNote.objects.filter(store=store, order_id=order_id).order_by("created_at", "id")


def notes_between(
    store: StoreConnection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    author: str | None = None,
) -> QuerySet[StaffNote]:
    """The store's notes written in [start, end) (either open), newest first; `author` matches part of
    the author's name, ignoring case."""
    notes = StaffNote.objects.filter(store=store)
    if start is not None:
        notes = notes.filter(created_at__gte=start)
    if end is not None:
        notes = notes.filter(created_at__lt=end)
    if author:
        notes = notes.filter(author_name__icontains=author)
    return notes.order_by("-created_at", "-id")


@dataclass(frozen=True)
class TimelineItem:
    """One line of an order's timeline: an API history entry or a staff note (with what the viewer
    may do to it)."""

    at: datetime
    entry: HistoryEntry | None = None
    note: StaffNote | None = None
    editable: bool = False
    deletable: bool = False


def order_timeline(
    entries: Iterable[HistoryEntry],
    notes: Iterable[StaffNote],
    *,
    user: User,
    role: str,
) -> list[TimelineItem]:
    """The API's history entries and the staff notes, oldest first, as one timeline. A note written at
    the same instant as an entry comes after it (it is usually about that change)."""
    now = timezone.now()
    items = [TimelineItem(at=entry.changed_at, entry=entry) for entry in entries]
    writer = role_allows(role, WRITE_ACTION)
    items += [
        TimelineItem(
            at=note.created_at,
            note=note,
            editable=writer and can_edit(note, user, now=now),
            deletable=writer and can_delete(note, user, role, now=now),
        )
        for note in notes
    ]
    return sorted(items, key=lambda item: (item.at, item.note is not None))


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Staff note",
        max_length=StaffNote._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only staff of this store see it: it is never sent to the customer or the API.",
        error_messages={"required": "Write something first."},
    )
