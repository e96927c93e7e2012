"""`setup_demo_dashboard --credentials var/demo-credentials.json`: wire the demo stores into the dashboard
and create one demo user per role. Idempotent: run it on every `make run`.

The credentials file is written by `seed_demo`: {"stores": [{"storeId", "name", "slug", "timezone",
"currency", "apiKey"}]}. It is the only place the demo keys' plaintext lives (a local dev file).
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from dashboard.management.commands.connectstore import connect_store
from dashboard.management.commands.grant import grant
from dashboard.models import Role

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - demo accounts for a local development database
DEMO_USERS = [
    # (email, role, which stores)
    ("admin@demo.test", Role.ADMIN, "all"),
    ("support@demo.test", Role.SUPPORT, "first"),
    ("viewer@demo.test", Role.VIEWER, "first"),
]


class Command(BaseCommand):
    help = "Connect the demo stores from seed_demo's credentials file and create the demo users."

    def add_arguments(self, parser):
        parser.add_argument("--credentials", default="var/demo-credentials.json")
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, credentials, password, **options):
        path = Path(credentials)
        try:
            stores = json.loads(path.read_text())["stores"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                f"Cannot read demo stores from {path}: {exc}. Run seed_demo --credentials first."
            ) from None
        if not stores:
            raise CommandError(f"{path} lists no stores.")
        connections = []
        for entry in stores:
            connection, _ = connect_store(
                name=entry["name"],
                slug=entry.get("slug") or slugify(entry["name"])[:60],
                api_key=entry["apiKey"],
                timezone=entry.get("timezone") or "UTC",
            )
            connections.append(connection)
        self.stdout.write(f"Dashboard demo logins (password: {password}):")
        for email, role, scope in DEMO_USERS:
            targets = connections if scope == "all" else connections[:1]
            for connection in targets:
                grant(email=email, store=connection, role=role, password=password)
            names = ", ".join(c.name for c in targets)
            self.stdout.write(f"  {email:<20} {role.value:<8} {names}")
