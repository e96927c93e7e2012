"""The dashboard's own data: connections to stores of an Orders API, and who may do what in each.

No order data lives here: orders are read through the API client (dashboard/client.py).
"""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

import secretbox

API_KEY_PREFIX_LENGTH = 16


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone name (for example Europe/Berlin).")


class StoreConnection(models.Model):
    """One store of an Orders API, reached with that store's private key."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    # Empty: the API served by this same project, reached in-process (dashboard/transport.py).
    api_base_url = models.URLField(
        "API base URL", blank=True, help_text="Leave empty for this project's own API (in-process)."
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # The private key encrypted by secretbox under ENCRYPTION_PURPOSE; the plaintext is never stored.
    # Registered in DashboardConfig.ready() so that `manage.py reencrypt_secrets` rotates it.
    ENCRYPTION_PURPOSE = "dashboard.store-connection.api-key"
    api_key_encrypted = models.TextField(editable=False)
    # The key's visible start (`sk_test_AbCd1234`): the only part ever shown.
    api_key_prefix = models.CharField("API key prefix", max_length=API_KEY_PREFIX_LENGTH, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<StoreConnection {self.slug} key={self.api_key_prefix}…>"

    def set_api_key(self, plaintext: str) -> None:
        plaintext = plaintext.strip()
        self.api_key_encrypted = secretbox.encrypt(plaintext, purpose=self.ENCRYPTION_PURPOSE)
        self.api_key_prefix = plaintext[:API_KEY_PREFIX_LENGTH]

    def get_api_key(self) -> str:
        """The plaintext key; raises secretbox.SecretBoxError (shown as a failure page) when it cannot be
        decrypted."""
        try:
            return secretbox.decrypt(self.api_key_encrypted, purpose=self.ENCRYPTION_PURPOSE)
        except secretbox.SecretBoxError as exc:
            raise secretbox.SecretBoxError(
                f"{exc} For this store: set its key again with `manage.py connectstore`."
            ) from None


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    SUPPORT = "support", "Support"
    ADMIN = "admin", "Admin"


class Membership(models.Model):
    """A user's one role in one store (spec/dashboard.md §1)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="one_membership_per_user_store")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.store} · {self.role}"


STAFF_NOTE_MAX_LENGTH = 2000


class StaffNote(models.Model):
    """An internal comment on an order, written by staff in the dashboard.

    Kept here, not in the API, and keyed by store connection and the API's order id, so notes work
    against a remote API too and never reach the customer, the API or its webhooks.
    """

    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="staff_notes")
    order_id = models.CharField(max_length=64)
    # The order's number when the note was written: labels the note in the audit view without an API call.
    order_number = models.CharField(max_length=32, blank=True)
    # SET_NULL keeps the note when the user is deleted; author_name keeps who wrote it readable.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="staff_notes"
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField(max_length=STAFF_NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["store", "order_id", "created_at"], name="staffnote_store_order")]

    def __str__(self) -> str:
        return f"note on {self.order_id} by {self.author_name}"
