"""The load and the count of `bench/scale_out.sh` (which starts the processes; run that, not this).

    .venv/bin/python bench/scale_out.py --api http://127.0.0.1:8101 --api http://127.0.0.1:8102 \
        --api-key sk_… --receiver http://127.0.0.1:9911 --database-url postgres://…/scaleout \
        [--changes 2000] [--clients 8] [--drain-timeout 600] [--result bench/results/scale_out.md]

Through the first API: products, then ceil(changes / 3) confirmed orders, then a webhook endpoint on the
receiver for every event type (so order creation sends nothing). Then `--changes` status changes
(confirmed → processing → shipped → delivered), each order's three in order, by `--clients` threads
that alternate between the APIs request by request. Then waits until no delivery is pending and the
receiver has every event, and counts: deliveries written, succeeded, delivered (distinct webhook-id at
the receiver), lost, duplicated, bad signatures; changes/s through the APIs and deliveries/s from the
first change to the last delivery. Prints the figures and writes them to `--result`.
"""

import argparse
import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
NEXT_STATUS = {"confirmed": "processing", "processing": "shipped", "shipped": "delivered"}
PRODUCTS = [("so-1", "sov-1", "Scale Tee", 19.99), ("so-2", "sov-2", "Scale Mug", 9.50)]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def call(client: httpx.Client, method: str, path: str, body=None, *, expect: int) -> dict:
    for attempt in range(5):
        try:
            response = client.request(method, path, json=body)
        except httpx.TransportError as exc:
            log(f"{method} {path}: {exc}; retrying")
            time.sleep(0.5 * (attempt + 1))
            continue
        if response.status_code == expect:
            return response.json() if response.content else {}
        if response.status_code >= 500 or response.status_code == 429:
            time.sleep(0.5 * (attempt + 1))
            continue
        raise SystemExit(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
    raise SystemExit(f"{method} {path} kept failing")


def seed(client: httpx.Client, *, orders: int, threads: int) -> list[str]:
    products = {
        "products": [
            {
                "externalProductId": product,
                "name": name,
                "variants": [
                    {
                        "externalVariantId": variant,
                        "sku": variant.upper(),
                        "price": price,
                        "inventoryQuantity": 0,
                        "trackInventory": False,
                    }
                ],
            }
            for product, variant, name, price in PRODUCTS
        ]
    }
    call(client, "POST", "/api/v1/sdk/products/sync", products, expect=200)

    def create(i: int) -> str:
        product, variant, _name, price = PRODUCTS[i % len(PRODUCTS)]
        body = {
            "externalOrderId": f"scale-{i}-{uuid.uuid4().hex[:8]}",
            "platformName": "scale_out",
            "customerInfo": {"email": f"c{i}@scale.test", "firstName": "Scale"},
            "items": [
                {"externalProductId": product, "externalVariantId": variant, "quantity": 1, "price": price}
            ],
            "total": price,
            "status": "confirmed",
        }
        return call(client, "POST", "/api/v1/orders", body, expect=201)["data"]["id"]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(create, range(orders)))


def push_changes(apis: list[str], api_key: str, orders: list[str], *, changes: int, clients: int) -> float:
    """Each client thread walks its share of the orders through their statuses; returns the seconds."""
    plan = [(order, status) for order in orders for status in ("processing", "shipped", "delivered")][
        :changes
    ]
    errors: list[str] = []

    def run(share: list[tuple[str, str]], offset: int) -> None:
        pool = [httpx.Client(base_url=base, headers={"X-API-Key": api_key}, timeout=60) for base in apis]
        for n, (order, status) in enumerate(share):
            client = pool[(n + offset) % len(pool)]
            try:
                call(client, "PUT", f"/api/v1/orders/{order}/status", {"status": status}, expect=200)
            except SystemExit as exc:
                errors.append(str(exc))
        for client in pool:
            client.close()

    # Shares by order: thread i takes every i-th order's three changes, so an order's changes stay ordered.
    by_order: dict[str, list[tuple[str, str]]] = {}
    for order, status in plan:
        by_order.setdefault(order, []).append((order, status))
    order_ids = list(by_order)
    shares = [[c for o in order_ids[i::clients] for c in by_order[o]] for i in range(clients)]
    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(share, i)) for i, share in enumerate(shares)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} status changes failed, e.g. {errors[0]}")
    return time.monotonic() - started


def counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT status, count(*) FROM orders_webhookdelivery GROUP BY status").fetchall()
        events = conn.execute("SELECT count(*) FROM orders_webhookevent").fetchone()[0]
    return {"events": events, **dict(rows)}


def receiver_stats(url: str) -> dict:
    return httpx.get(f"{url}/stats", timeout=10).json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", action="append", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--receiver", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--result", default=str(ROOT / "bench" / "results" / "scale_out.md"))
    parser.add_argument("--setup", default="", help="What the script started (for the result file).")
    args = parser.parse_args()

    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    first = httpx.Client(base_url=args.api[0], headers={"X-API-Key": args.api_key}, timeout=60)
    orders = seed(first, orders=-(-args.changes // 3), threads=args.clients)
    event_types = [
        t["name"]
        for t in call(first, "GET", "/api/v1/webhooks/event-types", expect=200)["data"]["eventTypes"]
    ]
    endpoint = call(
        first,
        "POST",
        "/api/v1/webhooks",
        {"url": f"{args.receiver}/hook", "eventTypes": event_types, "description": "scale_out receiver"},
        expect=201,
    )["data"]
    httpx.put(f"{args.receiver}/secret", content=endpoint["secret"], timeout=10)
    log(
        f"{len(orders)} orders; endpoint {endpoint['id']} on {args.receiver} for {len(event_types)} event types"
    )

    started = time.monotonic()
    wall_start = time.time()
    seconds = push_changes(args.api, args.api_key, orders, changes=args.changes, clients=args.clients)
    change_rate = args.changes / seconds
    log(
        f"{args.changes} status changes through {len(args.api)} APIs in {seconds:.1f} s ({change_rate:.0f}/s)"
    )

    deadline = started + seconds + args.drain_timeout
    last = 0.0
    while True:
        now_counts = counts(args.database_url)
        stats = receiver_stats(args.receiver)
        written = sum(n for status, n in now_counts.items() if status != "events")
        if now_counts.get("pending", 0) == 0 and stats["unique"] >= written:
            break
        if time.monotonic() > deadline:
            log("drain timed out")
            break
        if time.monotonic() - last > 10:
            log(f"drain: {now_counts.get('pending', 0)} pending, {stats['unique']} of {written} delivered")
            last = time.monotonic()
        time.sleep(0.5)
    drained = time.monotonic() - started
    stats = receiver_stats(args.receiver)
    written = sum(n for status, n in now_counts.items() if status != "events")
    succeeded = now_counts.get("succeeded", 0)
    lost = written - stats["unique"]
    delivery_seconds = max(stats["last"] - wall_start, 1e-9)
    delivery_rate = stats["unique"] / delivery_seconds
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    figures = [
        ("status changes through the API", f"{args.changes} in {seconds:.1f} s = **{change_rate:.0f}/s**"),
        ("webhook deliveries written", f"{written} ({now_counts['events']} events)"),
        ("delivered (distinct webhook-id at the receiver)", f"{stats['unique']}"),
        ("deliveries succeeded (rows)", f"{succeeded}"),
        ("lost", f"**{lost}**"),
        ("duplicated (receiver hits beyond the first)", f"{stats['duplicates']}"),
        ("bad signatures", f"{stats['badSignatures']}"),
        (
            "deliveries/s (first change → last delivery)",
            f"{stats['unique']} in {delivery_seconds:.1f} s = **{delivery_rate:.0f}/s**",
        ),
        ("drained after", f"{drained:.1f} s from the first change"),
    ]
    print()
    for name, value in figures:
        print(f"{name:50} {value.replace('**', '')}")
    lines = [
        "# Scale-out: 2 gunicorns, 2 rqworkers, the recovery sweep (bench/scale_out.sh)",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {commit}; "
        f"{os.cpu_count()} CPUs; load average {load_start} at the start, {load_end} at the end",
        f"- {args.setup}" if args.setup else "",
        f"- {len(orders)} orders, {args.changes} status changes by {args.clients} client threads "
        f"alternating between {', '.join(args.api)}",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in figures),
        "",
    ]
    Path(args.result).write_text("\n".join(line for line in lines if line is not None) + "\n")
    log(f"written to {args.result}")
    return 0 if lost == 0 and stats["duplicates"] == 0 and stats["badSignatures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
