"""Django admin for superusers: store connections (key write-only) and memberships."""

from django import forms
from django.contrib import admin

from dashboard.models import Membership, StoreConnection


class StoreConnectionForm(forms.ModelForm):
    # Write-only: never pre-filled, never rendered back (render_value=False), stored encrypted.
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The store's private key (sk_…). Leave empty to keep the current key.",
    )

    class Meta:
        model = StoreConnection
        fields = ["name", "slug", "api_base_url", "timezone"]

    def clean(self):
        data = super().clean() or {}
        if not self.instance.pk and not data.get("api_key"):
            self.add_error("api_key", "A new connection needs the store's private API key.")
        return data

    def save(self, commit=True):
        if self.cleaned_data.get("api_key"):
            self.instance.set_api_key(self.cleaned_data["api_key"])
        return super().save(commit=commit)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(StoreConnection)
class StoreConnectionAdmin(admin.ModelAdmin):
    form = StoreConnectionForm
    list_display = ["name", "slug", "api_base_url", "timezone", "api_key_prefix", "updated_at"]
    readonly_fields = ["api_key_prefix", "created_at", "updated_at"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]

    def get_fields(self, request, obj=None):
        return ["name", "slug", "api_base_url", "timezone", "api_key", "api_key_prefix"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role", "store"]
    search_fields = ["user__username", "user__email", "store__name"]
    autocomplete_fields = ["user", "store"]
