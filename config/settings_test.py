"""Test overrides: fast hashing, in-memory mail, background tasks run immediately."""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": TASK_QUEUES}}  # noqa: F405
WEBHOOKS_ALLOW_LOOPBACK = True
# No `webhook_worker` runs in the tests: the ImmediateBackend's `deliver_webhook` task sends each delivery
# at commit, and many tests rely on that. Tests of the outbox-only path set it to False themselves.
WEBHOOK_DELIVERY_TASKS = True
# Tests share one key across many requests (hypothesis, races): standard is generous here; rate-limit
# tests set a custom tier or override RATE_LIMIT_TIERS.
RATE_LIMIT_TIERS = {**RATE_LIMIT_TIERS, "standard": {"per_minute": 10**6, "per_hour": 10**7, "burst": 10**6}}  # noqa: F405
