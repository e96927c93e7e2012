"""Shared setup for the bench scripts: Django against the bench database, the store to measure."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench"


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    # Measure the code, not Django's debug query log.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()


def biggest_store():
    from django.db.models import Count

    from orders.models import Store

    store = Store.objects.annotate(n=Count("orders")).order_by("-n").first()
    if store is None or store.n == 0:
        sys.exit("The bench database has no orders: run bench/seed_1m.sh first.")
    return store
