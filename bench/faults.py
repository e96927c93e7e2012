"""Faults are inputs too: a fault campaign against real processes on PostgreSQL, rerunnable by anyone.

    .venv/bin/python bench/faults.py [--duration 90] [--drain-timeout 300] [--clients 4]

What it does, on the local PostgreSQL (`--admin-url`, default postgres://postgres@127.0.0.1:5432/postgres):
- creates a fresh database (`--database`, default `faults`; dropped first, dropped again at the end) and
  migrates it;
- starts the API (gunicorn, like scripts/run.sh), two `manage.py db_worker` serving
  refunds,webhooks,default and `manage.py recovery_sweep --loop --interval 2`, each kept running by a
  supervisor thread (started again when it dies, as `make run` does). Refunds go through
  tests.gateways.LedgerGateway (a file ledger honouring the idempotency key across processes), the
  webhook retry schedule keeps production's 11 attempts with pauses of 1 to 8 s so the drain finishes;
- runs a local webhook receiver that answers 500 to 30% of deliveries and sleeps past the sender's
  timeout on 5% (then answers 503), and records every event id it answered 2xx;
- creates a store and key (`manage.py createstore --json`), products and orders through the API and a
  webhook endpoint subscribed to every event type;
- for --duration seconds: client threads change statuses, refund small amounts and create orders, one
  Idempotency-Key per logical operation, retrying the same key on 5xx, 409 IDEMPOTENCY_KEY_IN_USE and
  connection errors until a final answer; meanwhile every second every other backend of the database
  is terminated (pg_terminate_backend) and every --kill-every seconds one worker gets SIGKILL;
- then stops the faults, waits until no delivery and no refund is pending (--drain-timeout), and
  counts: events written vs delivered (receiver's 2xx), lost, duplicated, refunds created vs succeeded,
  paid twice (ledger), effects per Idempotency-Key, stuck refunds, restarts and liveness.

Prints the figures and writes them to bench/results/faults.md. Exits 1 if a must-be-zero figure is not
zero (paid twice, refund or status change applied twice for one key, refund stuck). Ctrl-C stops every
process it started and drops the database. Logs of the processes: a temporary directory, kept (and
named) when a must-be-zero figure fails or with --keep-logs.
"""

import argparse
import collections
import contextlib
import datetime as dt
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
RESULT_FILE = ROOT / "bench" / "results" / "faults.md"

WEBHOOK_TIMEOUT = 2.0
ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "TASKS_BACKEND": "db",
    "REDIS_URL": "",
    "RATE_LIMIT_ENABLED": "0",
    "PAYMENT_GATEWAY": "tests.gateways.LedgerGateway",
    # As many attempts as production (11), with short pauses so the drain ends: a 35% failing receiver
    # then loses an event with odds of 0.35**11 (the 6 attempts of a 5-step schedule lost 4 in 1,579).
    "WEBHOOK_RETRY_SCHEDULE": "1,1,2,2,3,3,5,5,8,8",
    "WEBHOOK_TIMEOUT_SECONDS": str(WEBHOOK_TIMEOUT),
    "WEBHOOK_CLAIM_LEASE_SECONDS": "5",
    "WEBHOOK_SWEEP_GRACE_SECONDS": "5",
    "REFUND_SWEEP_GRACE_SECONDS": "5",
    "REFUND_TASK_LEASE_SECONDS": "10",
    "WEBHOOKS_ALLOW_LOOPBACK": "1",
    "LOG_LEVEL": "INFO",
}
# The happy path an order walks through `PUT …/status` (orders are created confirmed, i.e. paid).
NEXT_STATUS = {"confirmed": "processing", "processing": "shipped", "shipped": "delivered"}
PRODUCTS = [("fp-1", "fv-1", "Fault Tee", Decimal("19.99")), ("fp-2", "fv-2", "Fault Mug", Decimal("9.50"))]
LOST_ATTEMPT_ERROR = "No result was recorded"  # orders/webhooks/delivery.py LOST_ATTEMPT_ERROR, start


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- processes --------------------------------------------------------------------------------------


class Supervised:
    """One long-running command, started again (after 1 s) whenever it exits, until stop()."""

    def __init__(self, name: str, argv_for, env: dict, log_path: Path):
        self.name = name
        self.argv_for = argv_for  # incarnation number (1, 2, …) -> argv
        self.env = env
        self.log_path = log_path
        self.incarnation = 0
        self.exit_codes: list[int] = []
        self.kills = 0
        self.proc: subprocess.Popen | None = None
        self.stopping = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=f"supervise {name}", daemon=True)

    @property
    def restarts(self) -> int:
        return max(0, self.incarnation - 1)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        with self.log_path.open("ab") as out:
            while True:
                with self.lock:
                    if self.stopping:
                        return
                    self.incarnation += 1
                    out.write(f"\n==== faults.py: start #{self.incarnation} of {self.name}\n".encode())
                    out.flush()
                    self.proc = subprocess.Popen(
                        self.argv_for(self.incarnation),
                        cwd=ROOT,
                        env=self.env,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group: stop() reaches gunicorn's workers
                    )
                    proc = self.proc
                while proc.poll() is None:
                    time.sleep(0.1)
                with self.lock:
                    if self.stopping:
                        return
                    self.exit_codes.append(proc.returncode)
                time.sleep(1)

    def worker_id(self) -> str:
        return f"{self.name}-{self.incarnation}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> int | None:
        with self.lock:
            proc = self.proc
            if proc is None or proc.poll() is not None:
                return None
            os.kill(proc.pid, signal.SIGKILL)
            self.kills += 1
            return proc.pid

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group: also what it forked
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if self.thread.is_alive():
            self.thread.join(timeout=5)


# ---- the webhook receiver ---------------------------------------------------------------------------


class Receiver:
    """Answers 500 to `fail_rate`, sleeps past the sender's timeout (then 503) on `slow_rate`, else 200;
    counts the 2xx answers per event id (`webhook-id` header, stable across retries)."""

    def __init__(self, *, fail_rate: float, slow_rate: float, seed: int):
        self.fail_rate = fail_rate
        self.slow_rate = slow_rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.ok: collections.Counter[str] = collections.Counter()
        self.answers: collections.Counter[str] = collections.Counter()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                event_id = self.headers.get("webhook-id", "")
                with receiver.lock:
                    draw = receiver.random.random()
                if draw < receiver.slow_rate:
                    receiver.count("slow (past the timeout, then 503)")
                    time.sleep(WEBHOOK_TIMEOUT + 1.5)
                    self._answer(503)
                elif draw < receiver.slow_rate + receiver.fail_rate:
                    receiver.count("500")
                    self._answer(500)
                elif self._answer(200):
                    receiver.count("200")
                    with receiver.lock:
                        receiver.ok[event_id] += 1

            def _answer(self, status: int) -> bool:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.wfile.flush()
                except OSError:
                    return False
                return True

            def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True)

    def count(self, what: str) -> None:
        with self.lock:
            self.answers[what] += 1

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


# ---- the API clients --------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: collections.Counter[str] = collections.Counter()
        self.ops_retried: collections.Counter[str] = collections.Counter()
        self.retry_requests = 0
        self.answers: collections.Counter[int] = collections.Counter()
        self.server_errors: collections.Counter[str] = collections.Counter()  # "500 INTERNAL_ERROR" …
        self.transport_errors: collections.Counter[str] = collections.Counter()
        self.outcomes: collections.Counter[tuple[str, int, str]] = collections.Counter()
        self.replayed = 0
        self.gave_up = 0
        # 409 IDEMPOTENCY_KEY_IN_USE: on a key's first request, after the previous request of the key had
        # answered (this client sends one request per key at a time), or after a connection error.
        self.in_use: collections.Counter[str] = collections.Counter()
        # Idempotency-Key -> (kind, final HTTP status, refund id or None)
        self.keys: dict[str, tuple[str, int, str | None]] = {}


class Api:
    """HTTP calls that retry the same request (same Idempotency-Key) until a final answer."""

    RETRY_CODES = {"IDEMPOTENCY_KEY_IN_USE"}

    def __init__(self, base: str, api_key: str, stats: Stats, *, give_up_after: float = 600):
        self.client = httpx.Client(base_url=base, headers={"X-API-Key": api_key}, timeout=30)
        self.stats = stats
        self.give_up_after = give_up_after

    def call(self, method: str, path: str, body=None, *, key: str | None = None, kind: str | None = None):
        """(status, JSON body or None); None when it gave up. Counts operations when `kind` is given."""
        headers = {"Idempotency-Key": key} if key else {}
        started = time.monotonic()
        attempts = 0
        previous_unanswered = False
        while True:
            attempts += 1
            retry = False
            try:
                response = self.client.request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                with self.stats.lock:
                    self.stats.transport_errors[type(exc).__name__] += 1
                retry = True
                previous_unanswered = True
            else:
                try:
                    payload = response.json()
                except ValueError:
                    payload = None
                code = (payload or {}).get("errorCode", "") if isinstance(payload, dict) else ""
                with self.stats.lock:
                    self.stats.answers[response.status_code] += 1
                    if response.status_code >= 500:
                        retry_after = " with Retry-After" if "Retry-After" in response.headers else ""
                        self.stats.server_errors[f"{response.status_code} {code or '?'}{retry_after}"] += 1
                    if code == "IDEMPOTENCY_KEY_IN_USE":
                        self.stats.in_use[
                            "first request of its key"
                            if attempts == 1
                            else "after a connection error or timeout"
                            if previous_unanswered
                            else "after the previous request of its key had answered"
                        ] += 1
                retry = (
                    response.status_code >= 500
                    or response.status_code == 429
                    or (response.status_code == 409 and code in self.RETRY_CODES)
                )
                if not retry:
                    if kind:
                        with self.stats.lock:
                            self.stats.ops[kind] += 1
                            if attempts > 1:
                                self.stats.ops_retried[kind] += 1
                                self.stats.retry_requests += attempts - 1
                            self.stats.outcomes[(kind, response.status_code, code)] += 1
                            if response.headers.get("Idempotent-Replayed") == "true":
                                self.stats.replayed += 1
                    return response.status_code, payload
            if time.monotonic() - started > self.give_up_after:
                with self.stats.lock:
                    self.stats.gave_up += 1
                    if kind:
                        self.stats.ops[kind] += 1
                        self.stats.outcomes[(kind, 0, "GAVE_UP")] += 1
                return None, None
            time.sleep(min(2.0, 0.1 * 2 ** min(attempts, 5)) * random.uniform(0.5, 1.5))

    def create_order(self, tag: str) -> dict | None:
        key = f"create-{tag}-{uuid.uuid4().hex[:12]}"
        quantity = random.randint(1, 4)
        external, variant, _name, price = random.choice(PRODUCTS)
        total = price * quantity
        body = {
            "externalOrderId": key,
            "platformName": "faults",
            "customerInfo": {"email": f"{tag}@faults.test", "firstName": "Fault"},
            "items": [
                {
                    "externalProductId": external,
                    "externalVariantId": variant,
                    "quantity": quantity,
                    "price": float(price),
                }
            ],
            "total": float(total),
            "status": "confirmed",
        }
        status, payload = self.call("POST", "/api/v1/orders", body, key=key, kind="create order")
        with self.stats.lock:
            self.stats.keys[key] = ("create", status or 0, None)
        if status not in (200, 201):
            return None
        data = payload["data"]
        return {
            "id": data["id"],
            "status": data["status"],
            "total": Decimal(str(data["total"])),
            "refunded": Decimal("0"),
        }

    def change_status(self, order: dict) -> None:
        target = NEXT_STATUS[order["status"]]
        key = f"status-{uuid.uuid4().hex}"
        body = {"status": target, "note": key}
        status, payload = self.call(
            "PUT", f"/api/v1/orders/{order['id']}/status", body, key=key, kind="status change"
        )
        with self.stats.lock:
            self.stats.keys[key] = ("status", status or 0, None)
        if status == 200:
            order["status"] = payload["data"]["status"]
        else:
            self.refresh(order)

    def refund(self, order: dict) -> None:
        amount = Decimal(random.randint(1, 50)) / 100
        key = f"refund-{uuid.uuid4().hex}"
        body = {"amount": float(amount), "reason": key}
        status, payload = self.call(
            "POST", f"/api/v1/orders/{order['id']}/refunds", body, key=key, kind="refund"
        )
        refund_id = payload["data"]["refund"]["id"] if status == 201 else None
        with self.stats.lock:
            self.stats.keys[key] = ("refund", status or 0, refund_id)
        if status == 201:
            order["refunded"] = Decimal(str(payload["data"]["order"]["refundedAmount"]))
            order["status"] = payload["data"]["order"]["status"]
        else:
            self.refresh(order)

    def refresh(self, order: dict) -> None:
        status, payload = self.call("GET", f"/api/v1/orders/{order['id']}")
        if status == 200:
            order["status"] = payload["data"]["status"]
            order["refunded"] = Decimal(str(payload["data"]["refundedAmount"]))


def client_loop(api: Api, orders: list[dict], tag: str, stop: threading.Event) -> None:
    rng = random.Random()
    n = 0
    while not stop.is_set():
        n += 1
        movable = [o for o in orders if o["status"] in NEXT_STATUS]
        refundable = [o for o in orders if o["total"] - o["refunded"] >= Decimal("1")]
        draw = rng.random()
        if draw < 0.1 or not (movable or refundable):
            order = api.create_order(f"{tag}-{n}")
            if order:
                orders.append(order)
        elif draw < 0.55 and movable:
            api.change_status(rng.choice(movable))
        elif refundable:
            api.refund(rng.choice(refundable))


# ---- faults -----------------------------------------------------------------------------------------


class Faults:
    def __init__(self, db_url: str, workers: list[Supervised], *, kill_every: float, terminate_every: float):
        self.db_url = db_url
        self.workers = workers
        self.kill_every = kill_every
        self.terminate_every = terminate_every
        self.terminated = 0
        self.terminate_rounds = 0
        self.kills: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="faults", daemon=True)

    def _run(self) -> None:
        conn = None
        started = time.monotonic()
        next_kill = started + self.kill_every
        victim = 0
        while not self.stop.wait(self.terminate_every):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.db_url, autocommit=True)
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                self.terminated += row[0] if row else 0
                self.terminate_rounds += 1
            except psycopg.Error as exc:
                log(f"faults: could not terminate backends ({exc}); reconnecting")
                conn = None
            if time.monotonic() >= next_kill:
                worker = self.workers[victim % len(self.workers)]
                victim += 1
                pid = worker.kill9()
                if pid:
                    at = time.monotonic() - started
                    self.kills.append(f"{worker.name} (pid {pid}) at {at:.0f} s")
                    log(f"faults: kill -9 {worker.name} (pid {pid})")
                next_kill += self.kill_every
        if conn is not None:
            conn.close()


# ---- set-up -----------------------------------------------------------------------------------------


def admin(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_for_api(base: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(f"{base}/api/v1/orders/statuses", timeout=2)
            return  # any answer (401) means it is up
        time.sleep(0.3)
    raise SystemExit(f"The API at {base} did not answer within {timeout:.0f} s.")


def seed(api: Api, receiver_url: str, *, orders: int) -> list[dict]:
    status, payload = api.call("GET", "/api/v1/webhooks/event-types")
    if status != 200:
        raise SystemExit(f"GET /webhooks/event-types answered {status}: {payload}")
    event_types = [t["name"] for t in payload["data"]["eventTypes"]]
    body = {"url": receiver_url, "eventTypes": event_types, "description": "faults.py receiver"}
    status, payload = api.call("POST", "/api/v1/webhooks", body)
    if status != 201:
        raise SystemExit(f"POST /webhooks answered {status}: {payload}")
    products = {
        "products": [
            {
                "externalProductId": product,
                "name": name,
                "variants": [
                    {
                        "externalVariantId": variant,
                        "sku": variant.upper(),
                        "price": float(price),
                        "inventoryQuantity": 0,
                        "trackInventory": False,
                    }
                ],
            }
            for product, variant, name, price in PRODUCTS
        ]
    }
    status, payload = api.call("POST", "/api/v1/sdk/products/sync", products)
    if status != 200:
        raise SystemExit(f"POST /sdk/products/sync answered {status}: {payload}")
    created = [api.create_order(f"seed-{i}") for i in range(orders)]
    return [o for o in created if o]


# ---- measuring --------------------------------------------------------------------------------------


def pending(conn) -> tuple[int, int]:
    deliveries = conn.execute(
        "SELECT count(*) FROM orders_webhookdelivery WHERE status = 'pending'"
    ).fetchone()
    refunds = conn.execute("SELECT count(*) FROM orders_refund WHERE status = 'pending'").fetchone()
    return deliveries[0], refunds[0]


def drain(db_url: str, timeout: float) -> tuple[float, tuple[int, int]]:
    started = time.monotonic()
    last_report = 0.0
    left = (-1, -1)
    while True:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                left = pending(conn)
        except psycopg.Error as exc:
            log(f"drain: {exc}")
        waited = time.monotonic() - started
        if left == (0, 0) or waited > timeout:
            return waited, left
        if waited - last_report >= 10:
            log(f"drain: {left[0]} deliveries and {left[1]} refunds pending after {waited:.0f} s")
            last_report = waited
        time.sleep(1)


def ledger_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def measure(db_url: str, stats: Stats, receiver: Receiver, ledger: Path, workers: list[Supervised]) -> dict:
    m: dict = {}
    with psycopg.connect(db_url, autocommit=True) as conn:
        events = {r[0]: r[1] for r in conn.execute("SELECT id, type FROM orders_webhookevent")}
        deliveries = {
            r[0]: {"id": r[1], "status": r[2], "attempts": r[3], "enabled": r[4]}
            for r in conn.execute(
                "SELECT d.event_id, d.id, d.status, d.attempt_count, e.enabled FROM orders_webhookdelivery d "
                "JOIN orders_webhookendpoint e ON e.id = d.endpoint_id"
            )
        }
        attempts = collections.defaultdict(list)
        for delivery_id, code, error in conn.execute(
            "SELECT delivery_id, status_code, error FROM orders_webhookattempt ORDER BY attempt_number"
        ):
            attempts[delivery_id].append(
                code or ("lost" if error.startswith(LOST_ATTEMPT_ERROR) else "error")
            )
        m["delivery_status"] = collections.Counter(d["status"] for d in deliveries.values())
        refunds = list(conn.execute("SELECT id::text, status, reason FROM orders_refund"))
        status_notes = collections.Counter(
            r[0] for r in conn.execute("SELECT note FROM orders_historyentry WHERE kind = 'status'")
        )
        m["tasks"] = collections.Counter(
            r[0] for r in conn.execute("SELECT status FROM django_tasks_database_dbtaskresult")
        )
        task_workers = collections.Counter()
        for (ids,) in conn.execute("SELECT worker_ids FROM django_tasks_database_dbtaskresult"):
            for worker_id in ids if isinstance(ids, list) else json.loads(ids or "[]"):
                task_workers[worker_id] += 1
        m["refund_latency"] = [
            r[0]
            for r in conn.execute(
                "SELECT extract(epoch FROM processed_at - created_at)::float FROM orders_refund "
                "WHERE status = 'succeeded'"
            )
        ]
        m["delivery_latency"] = [
            r[0]
            for r in conn.execute(
                "SELECT extract(epoch FROM completed_at - created_at)::float FROM orders_webhookdelivery "
                "WHERE status = 'succeeded'"
            )
        ]
        m["endpoint_enabled"] = conn.execute(
            "SELECT bool_and(enabled) FROM orders_webhookendpoint"
        ).fetchone()[0]

    ok = receiver.ok
    m["events"] = len(events)
    m["event_types"] = collections.Counter(events.values())
    delivered = {e for e in events if ok[e] > 0}
    m["delivered"] = len(delivered)
    m["received_unknown"] = len([e for e in ok if e not in events])
    lost = [e for e in events if e not in delivered and deliveries.get(e, {}).get("enabled", True)]
    m["lost"] = len(lost)
    m["lost_by_status"] = collections.Counter(
        deliveries[e]["status"] if e in deliveries else "no row" for e in lost
    )
    m["lost_detail"] = [
        f"{e} ({events[e]}): delivery {deliveries[e]['status']}, attempts "
        + ", ".join(str(a) for a in attempts[deliveries[e]["id"]])
        if e in deliveries
        else f"{e} ({events[e]}): no delivery row"
        for e in lost
    ]
    m["lost_exhausted"] = sum(
        1
        for e in lost
        if e in deliveries
        and deliveries[e]["status"] == "failed"
        and len(attempts[deliveries[e]["id"]]) >= 6
        and all(a != 200 for a in attempts[deliveries[e]["id"]])
    )
    m["phantom_success"] = len(
        [e for e, d in deliveries.items() if d["status"] == "succeeded" and ok[e] == 0]
    )
    dups = [n for e, n in ok.items() if e in events and n > 1]
    m["duplicated_events"] = len(dups)
    m["duplicated_extra"] = sum(n - 1 for n in dups)
    m["receiver"] = dict(receiver.answers)
    m["attempt_outcomes"] = collections.Counter(str(a) for rows in attempts.values() for a in rows)

    # Refunds and the ledger.
    m["refunds"] = len(refunds)
    m["refund_status"] = collections.Counter(r[1] for r in refunds)
    per_key = collections.Counter(r[2] for r in refunds)
    m["refund_keys_twice"] = len([k for k, n in per_key.items() if n > 1])
    answered = {k: v for k, v in stats.keys.items() if v[0] == "refund"}
    m["refund_effect_without_201"] = len([k for k in per_key if answered.get(k, ("", 0, None))[1] != 201])
    m["refund_201_without_row"] = len([k for k, v in answered.items() if v[1] == 201 and per_key[k] == 0])
    m["refunds_stuck"] = m["refund_status"].get("pending", 0)
    lines = ledger_lines(ledger)
    paid = collections.Counter(line["key"] for line in lines if line["paid"])
    m["ledger_calls"] = len(lines)
    m["ledger_repeat_calls"] = len(lines) - len({line["key"] for line in lines})
    m["paid_twice"] = len([k for k, n in paid.items() if n > 1])
    succeeded = {r[0] for r in refunds if r[1] == "succeeded"}
    m["succeeded_unpaid"] = len(succeeded - set(paid))
    m["paid_not_succeeded"] = len(set(paid) - succeeded)

    # Status changes: one history entry per key that was answered 200, none for the others.
    answered = {k: v for k, v in stats.keys.items() if v[0] == "status"}
    m["status_keys_twice"] = len([k for k in answered if status_notes[k] > 1])
    m["status_effect_without_200"] = len([k for k, v in answered.items() if v[1] != 200 and status_notes[k]])
    m["status_200_without_effect"] = len(
        [k for k, v in answered.items() if v[1] == 200 and not status_notes[k]]
    )

    m["worker_tasks_last_incarnation"] = {w.name: task_workers[w.worker_id()] for w in workers}
    return m


# ---- report -----------------------------------------------------------------------------------------


def fmt(counter) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))) or "none"


def spread(values: list[float]) -> str:
    if not values:
        return "—"
    values = sorted(values)
    p50, p95 = (values[min(len(values) - 1, int(q * len(values)))] for q in (0.5, 0.95))
    return f"p50 {p50:.1f} s, p95 {p95:.1f} s, max {values[-1]:.1f} s"


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def report(ctx: dict) -> tuple[str, list[str]]:
    m, s, args = ctx["m"], ctx["stats"], ctx["args"]
    must_be_zero = {
        "paid twice (ledger keys paid more than once)": m["paid_twice"],
        "refund rows per Idempotency-Key > 1": m["refund_keys_twice"],
        "status changes applied twice for one Idempotency-Key": m["status_keys_twice"],
        "refunds stuck (pending after the drain)": m["refunds_stuck"],
    }
    failed = [name for name, value in must_be_zero.items() if value]
    ops_total = sum(s.ops.values())
    retried_total = sum(s.ops_retried.values())
    procs = ctx["procs"]
    out = [
        "# Fault campaign (`bench/faults.py`)",
        "",
        f"Measured {ctx['date']} at `{ctx['rev']}` ({ctx['dirty']}) on {os.cpu_count()} cores, "
        f"PostgreSQL {ctx['pg_version']}; load average {ctx['load_start']} at the start, "
        f"{ctx['load_end']} at the end.",
        "",
        f"Run: `.venv/bin/python bench/faults.py --duration {args.duration:g}` — {args.clients} client "
        f"threads for {args.duration:g} s of faults, then a drain of {ctx['drain_s']:.0f} s "
        f"(limit {args.drain_timeout:g} s; still pending at its end: {ctx['drain_left'][0]} deliveries, "
        f"{ctx['drain_left'][1]} refunds). Receiver: 500 to {args.fail_rate:.0%}, past the "
        f"{WEBHOOK_TIMEOUT:g} s timeout on {args.slow_rate:.0%}; retry schedule {ENV['WEBHOOK_RETRY_SCHEDULE']} s "
        f"({len(ENV['WEBHOOK_RETRY_SCHEDULE'].split(',')) + 1} attempts); "
        f"DB_CONN_MAX_AGE={args.conn_max_age}; gateway delay {args.gateway_delay:g} s.",
        "",
        "## Must be zero",
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {name} | **{value}** {'FAIL' if value else 'PASS'} |" for name, value in must_be_zero.items()],
        "",
        "## Faults injected",
        "",
        "| fault | count |",
        "|---|---|",
        f"| backends terminated (pg_terminate_backend, every {args.terminate_every:g} s) | "
        f"{ctx['faults'].terminated} in {ctx['faults'].terminate_rounds} rounds |",
        f"| workers killed with SIGKILL (every {args.kill_every:g} s) | {len(ctx['faults'].kills)}: "
        f"{'; '.join(ctx['faults'].kills) or 'none'} |",
        "",
        "## API operations (one Idempotency-Key each, retried until a non-5xx answer)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| operations attempted | {ops_total} ({fmt(s.ops)}) |",
        f"| operations that needed retries | {retried_total} ({fmt(s.ops_retried)}); "
        f"{s.retry_requests} retry requests |",
        f"| operations given up | {s.gave_up} |",
        f"| final answers replayed (`Idempotent-Replayed: true`) | {s.replayed} |",
        f"| API 5xx answers seen | {sum(s.server_errors.values())} ({fmt(s.server_errors)}) |",
        f"| connection errors and timeouts seen | {sum(s.transport_errors.values())} "
        f"({fmt(s.transport_errors)}) |",
        f"| all answers by status | {fmt(s.answers)} |",
        f"| 409 IDEMPOTENCY_KEY_IN_USE answers (retried) | {sum(s.in_use.values())} ({fmt(s.in_use)}) |",
        f"| final outcomes (operation, status, code) | "
        f"{'; '.join(f'{k[0]} {k[1]} {k[2]}'.strip() + f': {n}' for k, n in sorted(s.outcomes.items()))} |",
        f"| status changes: effect without a 200 answer / 200 without effect | "
        f"{m['status_effect_without_200']} / {m['status_200_without_effect']} |",
        "",
        "## Webhooks (at least once)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| events written (webhook_event rows) | {m['events']} ({fmt(m['event_types'])}) |",
        f"| delivered (distinct event ids the receiver answered 2xx) | {m['delivered']} |",
        f"| lost (written, never answered 2xx, endpoint enabled) | **{m['lost']}** "
        f"(delivery status: {fmt(m['lost_by_status'])}; of which {m['lost_exhausted']} failed after "
        f"every attempt of the shortened schedule got a non-2xx/timeout/lost send) |",
        f"| duplicated (event ids answered 2xx more than once) | {m['duplicated_events']} events, "
        f"{m['duplicated_extra']} extra deliveries |",
        f"| deliveries marked succeeded the receiver never answered 2xx | {m['phantom_success']} |",
        f"| deliveries by final status | {fmt(m['delivery_status'])} |",
        f"| delivery latency (order change to recorded 2xx) | {spread(m['delivery_latency'])} |",
        f"| attempts recorded by outcome | {fmt(m['attempt_outcomes'])} |",
        f"| receiver answers | {fmt(m['receiver'])} |",
        f"| endpoint still enabled | {m['endpoint_enabled']} |",
        "",
        "## Refunds (exactly once)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| refunds created (rows) | {m['refunds']} ({fmt(m['refund_status'])}) |",
        f"| refunds succeeded | {m['refund_status'].get('succeeded', 0)} |",
        f"| refund latency (created to succeeded) | {spread(m['refund_latency'])} |",
        f"| paid twice (ledger keys with more than one payment) | **{m['paid_twice']}** |",
        f"| gateway calls / repeated calls with an already-paid key (deduplicated by the gateway) | "
        f"{m['ledger_calls']} / {m['ledger_repeat_calls']} |",
        f"| succeeded but never paid / paid but not succeeded | {m['succeeded_unpaid']} / "
        f"{m['paid_not_succeeded']} |",
        f"| refund rows per Idempotency-Key > 1 | **{m['refund_keys_twice']}** |",
        f"| refund rows whose key got no 201 / 201 answers without a row | "
        f"{m['refund_effect_without_201']} / {m['refund_201_without_row']} |",
        f"| refunds stuck (pending after the drain) | **{m['refunds_stuck']}** |",
        f"| task rows by status | {fmt(m['tasks'])} |",
        "",
        "## Processes at the end (each kept running by the script's supervisor)",
        "",
        "| process | alive at the end | restarts | killed by the campaign | other exits (codes) | "
        "tasks run by its last incarnation |",
        "|---|---|---|---|---|---|",
        *[
            f"| {p.name} | {'yes' if ctx['alive'][p.name] else '**no**'} | {p.restarts} | {p.kills} | "
            f"{len(p.exit_codes) - p.kills} ({', '.join(map(str, p.exit_codes)) or '—'}) | "
            f"{m['worker_tasks_last_incarnation'].get(p.name, '—')} |"
            for p in procs
        ],
        "",
    ]
    notes = []
    if s.in_use["first request of its key"]:
        notes.append(
            f"- {s.in_use['first request of its key']} answers were 409 IDEMPOTENCY_KEY_IN_USE to the *first* "
            "request of a key: no other request with that key existed, so the key was not in use."
        )
    if m["lost"] > m["lost_exhausted"]:
        notes.append(
            f"- {m['lost'] - m['lost_exhausted']} events were neither delivered nor failed after a full "
            "schedule of failed attempts: look at the lost events below."
        )
    if notes:
        out += ["## Flagged by the script", "", *notes, ""]
    if m["lost_detail"]:
        out += [
            "Lost events (attempt outcomes in order: HTTP status, `lost` = sent but no result recorded, "
            "`error` = timeout or connection error):",
            "",
            *[f"- {line}" for line in m["lost_detail"][:20]],
            *([f"- … and {len(m['lost_detail']) - 20} more"] if len(m["lost_detail"]) > 20 else []),
            "",
        ]
    return "\n".join(out), failed


# ---- main -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=90, help="Seconds of faults and load (default 90).")
    parser.add_argument("--drain-timeout", type=float, default=300, help="Seconds to wait for the drain.")
    parser.add_argument("--clients", type=int, default=4, help="Client threads (default 4).")
    parser.add_argument("--orders", type=int, default=20, help="Orders created before the faults.")
    parser.add_argument("--kill-every", type=float, default=20, help="Seconds between worker kills.")
    parser.add_argument("--terminate-every", type=float, default=1, help="Seconds between terminations.")
    parser.add_argument("--fail-rate", type=float, default=0.30, help="Receiver's share of 500 answers.")
    parser.add_argument("--slow-rate", type=float, default=0.05, help="Receiver's share of timeouts.")
    parser.add_argument("--gateway-delay", type=float, default=0.3, help="Seconds the gateway takes.")
    parser.add_argument("--conn-max-age", type=int, default=60, help="DB_CONN_MAX_AGE of every process.")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("FAULTS_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--database", default="faults", help="Database to create and drop (default faults).")
    parser.add_argument("--keep-logs", action="store_true", help="Keep the processes' logs.")
    parser.add_argument("--no-write", action="store_true", help="Print only; do not write the results file.")
    args = parser.parse_args()

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    base_url = args.admin_url.rsplit("/", 1)[0]
    db_url = f"{base_url}/{args.database}"
    tmp = Path(tempfile.mkdtemp(prefix="faults-"))
    ledger = tmp / "ledger.jsonl"
    env = {
        **os.environ,
        **ENV,
        "DATABASE_URL": db_url,
        "DB_CONN_MAX_AGE": str(args.conn_max_age),
        "GATEWAY_LEDGER": str(ledger),
        "GATEWAY_DELAY": str(args.gateway_delay),
        "VAR_DIR": str(tmp / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs: list[Supervised] = []
    receiver = Receiver(fail_rate=args.fail_rate, slow_rate=args.slow_rate, seed=int(time.time()))
    keep = args.keep_logs
    stop_clients = threading.Event()
    faults: Faults | None = None
    dropped = False
    try:
        load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
        log(f"database {args.database}: drop, create, migrate (logs in {tmp})")
        admin(args.admin_url, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin(args.admin_url, f'CREATE DATABASE "{args.database}"')
        manage(env, "migrate", "--no-input", "-v", "0")
        store = json.loads(manage(env, "createstore", "Faults", "--json").strip().splitlines()[-1])
        with psycopg.connect(db_url) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]

        receiver.start()
        web = Supervised(
            "web",
            lambda n: [
                GUNICORN,
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--graceful-timeout",
                "5",
                "--timeout",
                "60",
            ],
            env,
            tmp / "web.log",
        )
        workers = [
            Supervised(
                name,
                lambda n, name=name: [
                    PY,
                    "manage.py",
                    "db_worker",
                    "--queue-name",
                    "refunds,webhooks,default",
                    "--interval",
                    "0.5",
                    "--worker-id",
                    f"{name}-{n}",
                ],
                env,
                tmp / f"{name}.log",
            )
            for name in ("worker-1", "worker-2")
        ]
        sweep = Supervised(
            "recovery_sweep",
            lambda n: [PY, "manage.py", "recovery_sweep", "--loop", "--interval", "2"],
            env,
            tmp / "recovery_sweep.log",
        )
        procs = [web, *workers, sweep]
        for p in procs:
            p.start()
        wait_for_api(base)
        log(f"API up at {base}; receiver at {receiver.url}")

        stats = Stats()
        apis = [Api(base, store["apiKey"], stats) for _ in range(args.clients)]
        orders = seed(apis[0], receiver.url, orders=args.orders)
        stats.ops.clear()
        stats.outcomes.clear()
        log(f"store {store['storeId']}: {len(orders)} orders, endpoint subscribed to every event type")

        faults = Faults(db_url, workers, kill_every=args.kill_every, terminate_every=args.terminate_every)
        shares = [orders[i :: args.clients] for i in range(args.clients)]
        clients = [
            threading.Thread(
                target=client_loop,
                args=(apis[i], shares[i], f"c{i}", stop_clients),
                name=f"client {i}",
                daemon=True,
            )
            for i in range(args.clients)
        ]
        log(f"faults and load for {args.duration:g} s")
        faults.thread.start()
        for c in clients:
            c.start()
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline:
            time.sleep(min(10, max(0.1, deadline - time.monotonic())))
            log(
                f"  {sum(stats.ops.values())} operations, {sum(stats.transport_errors.values())} connection "
                f"errors, 5xx: {sum(n for c, n in stats.answers.items() if c >= 500)}, "
                f"backends terminated: {faults.terminated}"
            )
        faults.stop.set()
        stop_clients.set()
        faults.thread.join()
        for c in clients:
            c.join()
        log(
            f"faults stopped; {sum(stats.ops.values())} operations; draining (up to {args.drain_timeout:g} s)"
        )
        drain_s, drain_left = drain(db_url, args.drain_timeout)
        log(f"drain: {drain_s:.0f} s, pending left: {drain_left[0]} deliveries, {drain_left[1]} refunds")
        time.sleep(1)
        alive = {p.name: p.alive() for p in procs}
        load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
        for p in procs:
            p.stop()
        receiver.stop()
        m = measure(db_url, stats, receiver, ledger, workers)
        dirty = len(git("status", "--porcelain", "--untracked-files=no").splitlines())
        ctx = {
            "m": m,
            "stats": stats,
            "args": args,
            "procs": procs,
            "alive": alive,
            "faults": faults,
            "drain_s": drain_s,
            "drain_left": drain_left,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ"),
            "rev": git("rev-parse", "--short", "HEAD"),
            "dirty": f"working tree: {dirty} tracked files modified" if dirty else "clean working tree",
            "pg_version": pg_version,
            "load_start": load_start,
            "load_end": load_end,
        }
        text, failed = report(ctx)
        print(text)
        if not args.no_write:
            RESULT_FILE.write_text(text)
            log(f"written to {RESULT_FILE.relative_to(ROOT)}")
        if failed:
            keep = True
            log("FAIL: " + "; ".join(failed))
            return 1
        return 0
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        return 130
    finally:
        stop_clients.set()
        if faults is not None:
            faults.stop.set()
        for p in procs:
            p.stop()
        with contextlib.suppress(Exception):
            receiver.stop()
        with contextlib.suppress(psycopg.Error):
            admin(args.admin_url, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            dropped = True
        log(f"database {args.database} {'dropped' if dropped else 'NOT dropped'}")
        if keep:
            log(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
