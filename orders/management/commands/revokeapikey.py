"""`manage.py revokeapikey PREFIX`: revoke a key; requests with it then get 401."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.auth import api_key_revoke
from orders.models import ApiKey


class Command(BaseCommand):
    help = "Revoke the API key with this prefix (e.g. sk_test_AbCd1234, as shown at creation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="The key's visible prefix, e.g. sk_test_AbCd1234.")

    def handle(self, *args, **options) -> None:
        prefix = options["prefix"].strip()
        if api_key_revoke(prefix=prefix):
            self.stdout.write(f"Revoked {prefix}: requests with this key now get 401 INVALID_API_KEY.")
            return
        if ApiKey.objects.filter(prefix=prefix).exists():
            raise CommandError(f"The key {prefix} is already revoked.")
        raise CommandError(
            f"No API key with prefix {prefix!r}. A prefix looks like sk_test_AbCd1234 (the key's first 16 "
            "characters); check it in the admin or the output of createstore/createapikey."
        )
