"""Delete Idempotency-Key records past their 24-hour lifetime (spec §2). Run it daily (cron, systemd
timer or the scheduler of your platform); expired records are already ignored by the API, this only
keeps the table small."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from orders.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than 24 hours."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=int,
            default=int(IdempotencyRecord.LIFETIME.total_seconds() // 3600),
            help="Age limit (default 24).",
        )

    def handle(self, *args, hours: int, **options):
        deleted = IdempotencyRecord.prune(older_than=timedelta(hours=max(hours, 1)))
        if options["verbosity"]:
            self.stdout.write(f"Deleted {deleted} idempotency record(s) older than {hours} h.")
