"""`manage.py seed_demo`: demo stores with a catalogue, customers and orders in every status."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders import demo
from orders.models import Store


def _positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Create realistic demo data: K stores, each with products, customers and N orders spread over the "
        "last 90 days in every status. Re-running creates nothing that is already there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=_positive, default=500, help="Orders per store (default 500).")
        parser.add_argument("--stores", type=_positive, default=2, help="Number of demo stores (default 2).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already has any store."
        )
        parser.add_argument(
            "--credentials",
            type=Path,
            help="Merge the new stores' demo API keys into this JSON file (e.g. var/demo-credentials.json).",
        )
        parser.add_argument("--seed", type=int, help="Random seed, for reproducible data (default: random).")
        parser.add_argument(
            "--batch-size", type=_positive, default=demo.BATCH_SIZE, help="Orders per transaction."
        )

    def handle(self, *args, **options) -> None:
        if options["if_empty"] and Store.objects.exists():
            self.stdout.write("Stores exist already; no demo data added (--if-empty).")
            return
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        results = demo.seed(
            orders=options["orders"],
            stores=options["stores"],
            progress=options["verbosity"] > 0,
            batch_size=options["batch_size"],
            random_seed=options["seed"],
        )
        for result in results:
            store = result.store
            if result.created:
                self.stdout.write(
                    f"Created store {store.name!r} ({store.pk}, {store.currency}, {store.timezone}) "
                    f"with {result.orders_created} orders."
                )
                if not options["credentials"]:
                    self.stdout.write(f"  Demo API key (shown once): {result.api_key}")
            elif result.orders_created:
                self.stdout.write(f"Added {result.orders_created} orders to {store.name!r}.")
            else:
                self.stdout.write(
                    f"{store.name!r} already has {options['orders']} or more orders; left as is."
                )
        if options["credentials"]:
            demo.write_credentials(options["credentials"], results)
            self.stdout.write(f"Demo API keys are in {options['credentials']}.")
