"""`grant EMAIL STORE_SLUG viewer|support|admin [--password P]`: give a person a role in a store."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dashboard.models import Membership, Role, StoreConnection


class Command(BaseCommand):
    help = "Give a user (created if needed, username = email) a role in a connected store."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("store_slug")
        parser.add_argument("role", choices=[r.value for r in Role])
        parser.add_argument("--password", help="Set this password (required for a new user to sign in).")

    def handle(self, *args, email, store_slug, role, password, **options):
        store = StoreConnection.objects.filter(slug=store_slug).first()
        if store is None:
            raise CommandError(
                f"No store connection with slug {store_slug!r}; add it with connectstore first."
            )
        user, user_created = grant(email=email, store=store, role=role, password=password)
        self.stdout.write(
            f"{'Created user' if user_created else 'User'} {user.get_username()}: {role} in {store.name}"
            + (
                ""
                if password or not user_created
                else " (no password set: use --password to let them sign in)"
            )
        )


def grant(*, email: str, store: StoreConnection, role: str, password: str | None = None):
    User = get_user_model()
    email = email.strip().lower()
    user, created = User.objects.get_or_create(username=email, defaults={"email": email})
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.update_or_create(user=user, store=store, defaults={"role": role})
    return user, created
