"""The sign-in form, throttled. The order action forms are in action_forms.py, the webhook forms in
webhook_forms.py and the list filters in filters.py and audit.py."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError


def _throttle_key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()
    return f"dashboard:login-failures:{digest}"


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, locked for a while after repeated failures per username + client IP.

    Counting per pair (not per IP alone) keeps one office behind a NAT usable while one account is
    under attack; counting before `authenticate()` means a locked pair never reaches the hasher.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        # Django's says "username" (the user model's field); the sign-in page asks for an email.
        "invalid_login": "Enter a correct email and password. Both may be case-sensitive.",
        "locked": "Too many failed sign-ins for this account from your network. Try again in %(minutes)d minutes.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        key = _throttle_key(username, ip)
        if cache.get(key, 0) >= settings.DASHBOARD_LOGIN_MAX_FAILURES:
            raise ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": settings.DASHBOARD_LOGIN_LOCKOUT_SECONDS // 60},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            cache.add(key, 0, settings.DASHBOARD_LOGIN_LOCKOUT_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, settings.DASHBOARD_LOGIN_LOCKOUT_SECONDS)
            raise
        cache.delete(key)
        return cleaned
