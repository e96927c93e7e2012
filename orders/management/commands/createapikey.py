"""`manage.py createapikey STORE_ID`: another API key for an existing store."""

import json
import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.auth import api_key_create
from orders.models import ApiKey, Store

TIERS = (ApiKey.Tier.STANDARD.value, ApiKey.Tier.PREMIUM.value)


class Command(BaseCommand):
    help = "Create an API key for a store and print it once. Private (sk_) by default; --public for pk_."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("store_id", help="The store's ID (a UUID, as printed by createstore).")
        parser.add_argument(
            "--name", default="Default key", help="A label for the key (default 'Default key')."
        )
        parser.add_argument("--public", action="store_true", help="Create a public pk_ key instead of sk_.")
        parser.add_argument(
            "--tier", choices=TIERS, default=ApiKey.Tier.STANDARD.value, help="Rate-limit tier."
        )
        parser.add_argument("--json", action="store_true", help="Print the key as JSON only.")

    def handle(self, *args, **options) -> None:
        try:
            store_id = uuid.UUID(options["store_id"])
        except ValueError:
            raise CommandError(
                f"{options['store_id']!r} is not a store ID: pass the UUID that createstore printed."
            ) from None
        store = Store.objects.filter(pk=store_id).first()
        if store is None:
            raise CommandError(f"No store with ID {store_id}. Check the ID, or create one with createstore.")
        name = options["name"].strip()
        if not name or len(name) > ApiKey._meta.get_field("name").max_length:  # type: ignore[operator]
            raise CommandError("The key name must be 1 to 100 characters.")
        issued = api_key_create(store=store, name=name, public=options["public"], tier=options["tier"])
        key = issued.api_key
        if options["json"]:
            data = {
                "storeId": str(store.pk),
                "apiKey": issued.plaintext,
                "prefix": key.prefix,
                "name": key.name,
                "kind": key.kind,
                "tier": key.tier,
            }
            self.stdout.write(json.dumps(data))
            return
        kind = "public" if options["public"] else "private"
        self.stdout.write(f"Created {kind} key {key.name!r} ({key.tier} tier) for store {store.name!r}.")
        self.stdout.write(f"API key: {issued.plaintext}")
        self.stdout.write(f"Prefix:  {key.prefix} (revoke with: manage.py revokeapikey {key.prefix})")
        self.stdout.write("Save the key now: it is shown only once.")
