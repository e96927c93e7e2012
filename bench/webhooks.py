"""Webhook delivery throughput and latency with one `manage.py webhook_worker`, on PostgreSQL.

    .venv/bin/python bench/webhooks.py [--backlog 5000] [--burst 2000] [--burst-processes 4]
                                       [--burst-threads 8] [--mixed 2000]

On the local PostgreSQL (`--admin-url`, default postgres://postgres@127.0.0.1:5432/postgres) it creates a
fresh database (`--database`, default `orders_webhooks_bench`; dropped first and at the end) and migrates
it, starts a fast local receiver in its own process (asyncio, HTTP/1.1 keep-alive; it checks both
signatures of every request with the `standardwebhooks` library and a plain HMAC; `/slow…` paths sleep
5 s before answering) and measures, with one worker process (default options):

(a) backlog: --backlog events written through the outbox while no worker runs; then the
    worker starts: deliveries/s from its first to its last delivery at the receiver, and the worker's
    CPU time per delivery;
(b) bursts: --burst orders change status through the service layer (`order_set_status`) from
    --burst-processes processes of --burst-threads threads each, while the worker runs — first each
    change in its own transaction, as fast as the writers go (on a shared 2-core box slower than the
    worker), then each writer's changes in one transaction, all committed together (the outbox gets
    --burst due deliveries at once): event→delivery latency (receiver arrival − the event's
    `created_at`, written in the change's transaction) p50/p99/max, and how long after the burst's end
    (its last commit) deliveries still arrived;
(c) a fast endpoint beside a slow and a dead one: --mixed events, each for three endpoints — the fast
    receiver, one that sleeps 5 s per request and a port where nothing listens (connection refused) —
    written while no worker runs; then the worker starts: the fast endpoint's deliveries/s (to compare
    with (a)), and what the other two got meanwhile.

Every process runs the database task backend with WEBHOOK_DELIVERY_TASKS as the environment says (by
default off: the outbox writes no task per delivery, the worker claims them from the outbox); the result
says which. Writes the figures (date, commit, load average) to bench/results/webhooks.md.
"""

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
RESULT_FILE = ROOT / "bench" / "results" / "webhooks.md"
ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "TASKS_BACKEND": "db",
    "REDIS_URL": "",
    "RATE_LIMIT_ENABLED": "0",
    "WEBHOOKS_ALLOW_LOOPBACK": "1",
    "LOG_LEVEL": "WARNING",
}
# One secret for every bench endpoint, so the receiver can check each request's signatures.
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLOW_SECONDS = 5


# ---- the receiver (its own process) -------------------------------------------------------------------


def receiver_main(port_file: str, out_file: str) -> None:
    """A minimal asyncio HTTP/1.1 server: records (arrival time, path, webhook-id, both signatures
    valid) of every request, answers 200 (after SLOW_SECONDS on /slow…)."""
    import hashlib
    import hmac

    from standardwebhooks import Webhook

    standard = Webhook(SECRET)
    arrivals: list[tuple[float, str, str, bool]] = []

    def verified(headers: dict, body: bytes) -> bool:
        plain = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(plain, headers.get("x-webhook-signature", "")):
            return False
        try:
            standard.verify(body, headers)
        except Exception:  # the library's WebhookVerificationError (or a malformed header)
            return False
        return True

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                at = time.time()
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                arrivals.append((at, path, headers.get("webhook-id", ""), verified(headers, body)))
                if path.startswith("/slow"):
                    await asyncio.sleep(SLOW_SECONDS)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, lambda: Path(out_file).write_text(json.dumps(arrivals)))
        async with server:
            await stop.wait()

    asyncio.run(main())


class Receiver:
    def __init__(self, tmp: Path):
        self.port_file, self.out_file = tmp / "port", tmp / "arrivals.json"
        self.process = subprocess.Popen(  # noqa: S603
            [PY, __file__, "--receiver", str(self.port_file), str(self.out_file)]
        )
        while not self.port_file.exists() or not self.port_file.read_text():
            time.sleep(0.05)
        self.base = f"http://127.0.0.1:{self.port_file.read_text()}"

    def arrivals(self, prefix: str) -> list[tuple[float, str, str, bool]]:
        self.out_file.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        while not self.out_file.exists():
            time.sleep(0.02)
        time.sleep(0.1)
        return [tuple(a) for a in json.loads(self.out_file.read_text()) if a[1].startswith(prefix)]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# ---- helpers ------------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def fmt(values: list[float]) -> str:
    return f"p50 {pct(values, 50):.2f} s · p99 {pct(values, 99):.2f} s · max {max(values, default=float('nan')):.2f} s"


def load() -> str:
    return "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())


class Worker:
    """One `manage.py webhook_worker` process (default options) and the CPU time it used."""

    def __init__(self, log: Path):
        self.log = log
        self.log.write_text("")
        self.process = subprocess.Popen(  # noqa: S603
            [PY, "manage.py", "webhook_worker"],
            cwd=ROOT,
            env={**os.environ, **ENV},
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        """Until the worker has started (Django set up, its first look at the outbox about to happen)."""
        wait_until(lambda: "webhook_worker:" in self.log.read_text(), limit=120, what="the worker to start")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_until(condition, *, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.1)


def endpoint(store, url: str, event_types: list[str]):
    import secretbox
    from orders.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        store=store,
        url=url,
        event_types=event_types,
        secret_encrypted=secretbox.encrypt(SECRET, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE),
    )


def write_backlog(store, n: int, event_type: str) -> None:
    """`n` events through the outbox (with a task each if WEBHOOK_DELIVERY_TASKS), in transactions of 500."""
    from django.db import transaction

    from orders.webhooks.outbox import record_event

    for start in range(0, n, 500):
        with transaction.atomic():
            for _ in range(min(500, n - start)):
                record_event(order=None, store_id=store.id, event_type=event_type, data={"bench": True})


def refused_url() -> str:
    """A loopback URL where nothing listens: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/refused"


def rate(arrivals) -> tuple[float, float]:
    """(deliveries/s from the first to the last arrival, that span in seconds)."""
    times = [a[0] for a in arrivals]
    span = max(times) - min(times)
    return len(times) / span, span


def deliveries_of(endpoint_obj, status: str) -> int:
    from orders.models import WebhookDelivery

    return WebhookDelivery.objects.filter(endpoint=endpoint_obj, status=status).count()


# ---- the bursts: status changes from several processes ----------------------------------------------


def _burst_process(store_id, order_ids: list, to: str, threads: int, start_at: float, together, ends) -> None:
    """A forked process: `threads` threads move their share of the orders to `to` through the service
    layer, from `start_at`; puts the time of its last commit on `ends`. With a `together` barrier each
    thread makes all its changes in one transaction and commits when every thread of every process is
    ready to."""
    from django.db import connection, transaction

    from orders import services
    from orders.actors import SYSTEM_ACTOR
    from orders.models import Store

    store = Store.objects.get(id=store_id)
    connection.close()
    commits: list[float] = []

    def committed() -> None:
        # Registered before the change's own after-commit work (handing its tasks to the queue), so it
        # runs first: the time of the commit itself.
        transaction.on_commit(lambda: commits.append(time.time()))

    def work(chunk):
        try:
            if together is None:
                for order_id in chunk:
                    with transaction.atomic():
                        committed()
                        services.order_set_status(order_id=order_id, store=store, to=to, actor=SYSTEM_ACTOR)
                return
            with transaction.atomic():
                committed()
                for order_id in chunk:
                    services.order_set_status(order_id=order_id, store=store, to=to, actor=SYSTEM_ACTOR)
                together.wait()
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(order_ids[i::threads],)) for i in range(threads)]
    time.sleep(max(0.0, start_at - time.time()))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ends.put(max(commits))


def burst(store, order_ids: list, *, to: str, processes: int, threads: int, at_once: bool = False):
    """Move every order to `to` from `processes` × `threads` writers, one transaction per change — or,
    `at_once`, one per writer, all committed together. (start, end: the last commit)."""
    from django.db import connections

    connections.close_all()  # each forked process opens its own
    context = multiprocessing.get_context("fork")
    ends = context.Queue()
    together = context.Barrier(processes * threads) if at_once else None
    start_at = time.time() + 1.0
    children = [
        context.Process(
            target=_burst_process,
            args=(store.id, order_ids[i::processes], to, threads, start_at, together, ends),
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    end = max(ends.get() for _ in children)
    for child in children:
        child.join()
    return start_at, end


def burst_figures(receiver, prefix: str, endpoint_obj, event_ids_before: set, burst_end: float):
    """(event → delivery, after the burst's end, signature failures, seconds to the last arrival) of the
    deliveries to `endpoint_obj` of events not in `event_ids_before`."""
    from orders.models import WebhookEvent

    created = {
        e: c.timestamp()
        for e, c in WebhookEvent.objects.filter(deliveries__endpoint=endpoint_obj)
        .exclude(id__in=event_ids_before)
        .values_list("id", "created_at")
    }
    arrivals = [a for a in receiver.arrivals(prefix) if a[2] in created]
    since_event = [at - created[event_id] for at, _, event_id, _ in arrivals]
    after_end = [max(0.0, at - burst_end) for at, _, _, _ in arrivals]
    last = max(at for at, _, _, _ in arrivals) - burst_end
    return len(created), arrivals, since_event, after_end, last


# ---- the measurements ---------------------------------------------------------------------------------


def run(args) -> list[str]:
    from django.conf import settings

    from orders.models import WebhookDelivery, WebhookEvent
    from orders.statuses import OrderStatus
    from tests.factories import StoreFactory, make_order

    tasks = settings.WEBHOOK_DELIVERY_TASKS
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    log = tmp / "worker.log"
    receiver = Receiver(tmp)
    lines: list[str] = []
    try:
        store = StoreFactory(name="Bench", currency="USD", timezone="UTC")

        # (a) backlog
        backlog_ep = endpoint(store, f"{receiver.base}/backlog", ["webhook.test"])
        print(f"(a) writing {args.backlog} events to the outbox …", flush=True)
        write_backlog(store, args.backlog, "webhook.test")
        pending = WebhookDelivery.objects.filter(endpoint=backlog_ep, status="pending")
        assert pending.count() == args.backlog
        load_before = load()
        worker = Worker(log)
        try:
            wait_until(lambda: not pending.exists(), limit=1200, what="the backlog")
            cpu = worker.cpu_seconds()
        finally:
            worker.stop()
        arrivals = receiver.arrivals("/backlog")
        per_second, span = rate(arrivals)
        lines += [
            f"## (a) Backlog of {args.backlog:,} deliveries to one fast endpoint, one worker",
            "",
            f"- **{per_second:,.0f} deliveries/s** from the first to the last arrival ({span:.1f} s); "
            f"{deliveries_of(backlog_ep, 'succeeded'):,} recorded succeeded, {len(arrivals):,} requests "
            f"received, {sum(not a[3] for a in arrivals)} with a signature that did not verify",
            f"- the worker's CPU time: {cpu * 1000 / args.backlog:.2f} ms per delivery (start-up"
            + (f" and acknowledging the {args.backlog:,} tasks" if tasks else "")
            + " included)",
            f"- load average (1/5/15 min) before {load_before}, after {load()}",
            "",
        ]
        print("\n".join(lines[-5:-1]), flush=True)

        # (b) bursts
        fast = endpoint(store, f"{receiver.base}/burst", ["order.status_updated"])
        print(f"(b) creating {args.burst} orders …", flush=True)
        order_ids = [make_order(store, status=OrderStatus.CONFIRMED).id for _ in range(args.burst)]
        not_done = WebhookDelivery.objects.filter(endpoint=fast).exclude(status="succeeded")
        writers = f"{args.burst_processes} processes × {args.burst_threads} threads"
        for title, to, at_once in [
            (
                f"{args.burst:,} changes as fast as the service layer makes them ({writers}, one transaction each)",
                "processing",
                False,
            ),
            (
                f"{args.burst:,} changes committed at once ({writers}, each writer's changes in one transaction, all committed together)",
                "shipped",
                True,
            ),
        ]:
            before = set(WebhookEvent.objects.values_list("id", flat=True))
            load_before = load()
            worker = Worker(log)
            try:
                worker.wait_ready()  # the burst meets a running worker, as in production
                burst_start, burst_end = burst(
                    store,
                    order_ids,
                    to=to,
                    processes=args.burst_processes,
                    threads=args.burst_threads,
                    at_once=at_once,
                )
                wait_until(lambda: not not_done.exists(), limit=600, what="the burst's deliveries")
            finally:
                worker.stop()
            events, arrivals, since_event, after_end, last = burst_figures(
                receiver, "/burst", fast, before, burst_end
            )
            took = burst_end - burst_start
            lines += [
                f"## (b) Burst: {title}, while the worker runs",
                "",
                f"- the burst took {took:.1f} s ({args.burst / took:,.0f} changes/s); {events:,} events, "
                f"{len(arrivals):,} requests received, {sum(not a[3] for a in arrivals)} with a signature that "
                "did not verify",
                f"- event → delivery: {fmt(since_event)}",
                f"- **after the burst's end** (its last commit): {fmt(after_end)}; the last delivery arrived "
                f"{last:.2f} s after it",
                f"- load average before {load_before}, after {load()}",
                "",
            ]
            print("\n".join(lines[-6:-1]), flush=True)

        # (c) a fast endpoint beside a slow one and a dead one
        types = ["order.created"]
        fast_c = endpoint(store, f"{receiver.base}/mixed", types)
        slow = endpoint(store, f"{receiver.base}/slow", types)
        dead = endpoint(store, refused_url(), types)
        print(f"(c) writing {args.mixed} events for a fast, a slow and a dead endpoint …", flush=True)
        write_backlog(store, args.mixed, "order.created")
        load_before = load()
        started = time.time()
        worker = Worker(log)
        try:
            wait_until(
                lambda: deliveries_of(fast_c, "succeeded") == args.mixed,
                limit=1200,
                what="the fast endpoint's deliveries",
            )
            fast_done = time.time()
            slow_ok, dead_tried = (
                deliveries_of(slow, "succeeded"),
                dead.deliveries.filter(attempt_count__gt=0).count(),
            )
        finally:
            worker.stop()
        arrivals = receiver.arrivals("/mixed")
        per_second_c, span = rate(arrivals)
        slow_seen = len(receiver.arrivals("/slow"))
        lines += [
            f"## (c) {args.mixed:,} events, each for a fast endpoint, one that sleeps {SLOW_SECONDS} s per request "
            "and one that refuses connections",
            "",
            f"- fast endpoint: **{per_second_c:,.0f} deliveries/s** from its first to its last arrival "
            f"({span:.1f} s; {per_second_c / per_second:.2f}× the rate of (a), alone); "
            f"{sum(not a[3] for a in arrivals)} bad signatures",
            f"- meanwhile ({fast_done - started:.1f} s from the worker's start): the slow endpoint received "
            f"{slow_seen} requests ({slow_ok} recorded succeeded; 16 in flight at most, {SLOW_SECONDS} s each), "
            f"the dead one had {dead_tried:,} deliveries tried (refused, each scheduled for its retry)",
            f"- load average before {load_before}, after {load()}",
            "",
        ]
        print("\n".join(lines[-5:-1]), flush=True)
    finally:
        receiver.stop()
    return lines


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--receiver":
        receiver_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="orders_webhooks_bench")
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--burst-processes", type=int, default=4)
    parser.add_argument("--burst-threads", type=int, default=8)
    parser.add_argument("--mixed", type=int, default=2000)
    args = parser.parse_args()

    import psycopg

    database_url = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    ENV["DATABASE_URL"] = database_url
    try:
        subprocess.run(  # noqa: S603
            [PY, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, **ENV},
            check=True,
        )
        os.environ.update(ENV)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        started = dt.datetime.now(dt.UTC)
        load_before = load()
        lines = run(args)
        load_after = load()
        from django.conf import settings
        from django.db import connections

        connections.close_all()
        tasks = (
            "on: a `deliver_webhook` task per delivery, acknowledged by the worker"
            if settings.WEBHOOK_DELIVERY_TASKS
            else "off (the database backend's default): no task per delivery, the worker claims them from the outbox"
        )
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "orders", "bench/webhooks.py"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    header = [
        "# Webhook delivery: one `manage.py webhook_worker` (defaults: 64 threads, 16 per endpoint, batches of 200)",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC at commit `{commit}`{' (with uncommitted changes)' if dirty else ''} "
        f"by `bench/webhooks.py` on PostgreSQL, with a local asyncio receiver in its own process that checks "
        f"both signatures of every request. Load average (1/5/15 min) {load_before} at the start, "
        f"{load_after} at the end, on 2 cores shared with the other engineers' work. "
        f"WEBHOOK_DELIVERY_TASKS {tasks}.",
        "",
    ]
    RESULT_FILE.write_text("\n".join(header + lines))
    print(f"wrote {RESULT_FILE}")


if __name__ == "__main__":
    main()
