"""`connectstore NAME --slug S --api-key K [--base-url U] [--timezone TZ]`: add or update a connection."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dashboard.models import StoreConnection


class Command(BaseCommand):
    help = "Connect the dashboard to a store of an Orders API (creates or updates by slug)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--slug", required=True)
        parser.add_argument(
            "--api-key", required=True, help="The store's private key (sk_…); stored encrypted."
        )
        parser.add_argument("--base-url", default="", help="Remote API root; empty = this project's API.")
        parser.add_argument("--timezone", default="UTC")

    def handle(self, *args, name, slug, api_key, base_url, timezone, **options):
        connection, created = connect_store(
            name=name, slug=slug, api_key=api_key, base_url=base_url, timezone=timezone
        )
        verb = "Connected" if created else "Updated"
        self.stdout.write(
            f"{verb} store {connection.name} ({connection.slug}), key {connection.api_key_prefix}…"
        )


def connect_store(*, name: str, slug: str, api_key: str, base_url: str = "", timezone: str = "UTC"):
    if not api_key.strip().startswith("sk_"):
        raise CommandError(
            "--api-key must be a private key (sk_live_… or sk_test_…); public pk_ keys cannot read orders."
        )
    connection = StoreConnection.objects.filter(slug=slug).first()
    created = connection is None
    connection = connection or StoreConnection(slug=slug)
    connection.name = name
    connection.api_base_url = base_url
    connection.timezone = timezone
    connection.set_api_key(api_key)
    try:
        connection.full_clean()
    except ValidationError as exc:
        raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    connection.save()
    return connection, created
