"""`manage.py createstore NAME`: a store and its first private API key."""

import json
import re
import zoneinfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from orders.auth import api_key_create
from orders.models import Store

CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def validate_currency(value: str) -> str:
    if not CURRENCY.match(value):
        raise CommandError(f"Invalid currency {value!r}: use a 3-letter ISO 4217 code such as USD or EUR.")
    return value.upper()


def validate_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            f"Unknown timezone {value!r}: use an IANA name such as UTC, Europe/Rome or America/New_York."
        ) from None
    return value


class Command(BaseCommand):
    help = "Create a store and a private API key for it. The key is printed once and never stored in clear."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The store's name.")
        parser.add_argument("--currency", default="USD", help="3-letter currency code (default USD).")
        parser.add_argument("--timezone", default="UTC", help="IANA timezone (default UTC).")
        parser.add_argument("--json", action="store_true", help='Print {"storeId": ..., "apiKey": ...} only.')

    def handle(self, *args, **options) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("The store name must not be empty.")
        if len(name) > Store._meta.get_field("name").max_length:  # type: ignore[operator]
            raise CommandError("The store name is too long: at most 200 characters.")
        currency = validate_currency(options["currency"])
        timezone = validate_timezone(options["timezone"])
        with transaction.atomic():
            store = Store.objects.create(name=name, currency=currency, timezone=timezone)
            issued = api_key_create(store=store)
        if options["json"]:
            self.stdout.write(json.dumps({"storeId": str(store.pk), "apiKey": issued.plaintext}))
            return
        self.stdout.write(f"Created store {store.name!r} ({currency}, {timezone}).")
        self.stdout.write(f"Store ID:        {store.pk}")
        self.stdout.write(f"Private API key: {issued.plaintext}")
        self.stdout.write(
            "Save the key now: it is shown only once (the database keeps only its prefix and hash)."
        )
