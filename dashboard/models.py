"""The dashboard's own data: connections to stores of an Orders API, and who may do what in each.

No order data lives here: orders are read through the API client (dashboard/client.py).
"""

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

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


SAVED_VIEW_NAME_MAX_LENGTH = 40


class SavedView(models.Model):
    """A named filter set and sort of a store's orders list, shared by every member of the store.

    `query` is the list's normalised query string (`OrderFilterSet.view_query()`, dashboard/filters.py),
    so opening a view is opening the list at `?<query>`, and the tab of the list's current filters is
    found by comparing strings. The rules (who may change views, the defaults) are dashboard/saved_views.py.
    """

    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=SAVED_VIEW_NAME_MAX_LENGTH)
    description = models.CharField(max_length=200, blank=True)
    query = models.CharField(max_length=1000)
    # Tab order, left to right; ties (two admins adding at once) fall back to the id.
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "store", name="saved_view_name_unique_per_store")
        ]

    def __str__(self) -> str:
        return f"{self.store} · {self.name}"


class DefaultSavedView(models.Model):
    """The view a user's orders list opens on in one store; no row means "All orders"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="+")
    # Deleting the view deletes this row: the user's list opens on "All orders" again.
    view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="one_default_view_per_user_store")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.view}"


class BulkJob(models.Model):
    """One bulk action on a selection of a store's orders, run in the background (dashboard/bulk/).

    The selection is stored as the list's filter (`selection_filter`, the API's list parameters) or as
    explicit order ids; at start the runner resolves a filter into `targets` (one entry per order:
    id, number and any per-order parameters), kept here so a resumed job works on the same set.
    `key` makes each order's Idempotency-Key (`bulk-<key>-<order id>`): a resumed or re-run job is
    answered from the API's stored responses instead of acting twice.
    """

    class Action(models.TextChoices):
        STATUS = "status", "Change status"
        CANCEL = "cancel", "Cancel"
        NOTE = "note", "Add a staff note"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="bulk_jobs")
    # SET_NULL keeps the job when the user is deleted; created_by_name keeps who started it readable.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="bulk_jobs"
    )
    created_by_name = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=Action.choices)
    params = models.JSONField(default=dict, blank=True)  # status, note, carrier, tracking, reason, body
    # Where the selection came from: a filter (the API's list parameters) or explicit ids.
    selection_filter = models.JSONField(null=True, blank=True)
    selection_label = models.CharField(max_length=500, blank=True)  # "Status: processing", for people
    targets = models.JSONField(default=list, blank=True)  # [{"id", "number", "metadata"?}, …]
    resolved = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # The runner that holds the job: a resumed job gets a new one, and the old runner (if it was only
    # slow, not dead) sees the change at its next chunk and stops.
    runner = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # saved with every chunk
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="bulkjob_store_recent"),
            models.Index(fields=["status", "heartbeat_at"], name="bulkjob_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"bulk job #{self.pk} ({self.action}, {self.status})"

    @property
    def done_count(self) -> int:
        return self.succeeded + self.failed

    @property
    def left(self) -> int:
        return max(0, self.total - self.done_count)

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.CANCELLED, self.Status.FAILED}


class BulkJobResult(models.Model):
    """What happened to one order of a bulk job; unique per (job, order), so a resume skips it."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="results")
    order_id = models.CharField(max_length=64)
    order_number = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    error_code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "order_id"], name="one_result_per_job_order"),
        ]
        indexes = [models.Index(fields=["job", "outcome"], name="bulkresult_job_outcome")]

    def __str__(self) -> str:
        return f"{self.order_number or self.order_id}: {self.outcome}"
