"""Staff notes: internal comments on an order, kept in the dashboard's own database (models.StaffNote)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from dashboard.models import StaffNote, StoreConnection


def add_note(store: StoreConnection, order_id: str, author: AbstractBaseUser, body: str) -> StaffNote:
    """Write one note; `body` is stripped and must not be empty (callers validate it in their form)."""
    body = body.strip()
    if not body:
        raise ValueError("A note needs some text.")
    return StaffNote.objects.create(
        store=store, order_id=order_id, author=author, author_name=author.get_username(), body=body
    )
