"""Generates one batch of consistent orders as rows (see writer.py for how they are written).

Every order is built along a path of the transition table (orders.statuses.TRANSITIONS): a `created`
entry, one `status` entry per move, a `cancel` entry for cancels and a `refund` entry per refund, with
increasing timestamps that all lie before `now`. Totals, payment status and refunded sums follow
spec §3.2/§3.6. All randomness comes from one `random.Random`.

Row values are text (or None) in a form every writer accepts: UUIDs in canonical form, Decimals and ints
as their str, timestamps as `YYYY-MM-DD HH:MM:SS.ffffff+00`, booleans as `t`/`f`, JSON as its text.
Formatting a million orders' Python objects costs more than generating them, so rows are born as text.
"""

import random
from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

import orjson

from orders.demo.catalogue import (
    CANCEL_REASONS,
    DISCOUNT_CODES,
    ORDER_NOTES,
    PAYMENT_METHODS,
    REFUND_REASONS,
    STEP_NOTES,
    DemoStore,
)
from orders.models import HistoryEntry
from orders.statuses import TRANSITIONS, OrderStatus, PaymentStatus

S = OrderStatus
KIND = HistoryEntry.Kind
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DISCOUNT_RATE = Decimal("0.10")
HOUR = 3600.0
GATEWAY = "recording"  # the name of the default payment gateway adapter (orders.payments)
DAY = 86400.0
TRUE, FALSE = "t", "f"
EMPTY_JSON = "{}"

ORDER_COLUMNS = (
    "id", "store_id", "order_number", "external_id", "platform_name", "status", "payment_status",
    "customer_id", "customer_email", "customer_name", "item_count", "subtotal", "tax", "shipping",
    "discount", "total", "refunded_amount", "currency", "shipping_address", "billing_address",
    "payment_method", "payment_transaction_id", "paid_at", "metadata", "notes", "cancelled_at",
    "cancel_reason", "created_at", "updated_at",
)  # fmt: skip
ITEM_COLUMNS = (
    "id", "order_id", "product_id", "variant_id", "external_product_id", "external_variant_id", "name", "sku",
    "quantity", "price", "subtotal", "position",
)  # fmt: skip
HISTORY_COLUMNS = (
    "store_id", "order_id", "kind", "from_status", "to_status", "changed_at", "actor_type", "actor_name",
    "actor_api_key_prefix", "note", "metadata",
)  # fmt: skip
REFUND_COLUMNS = (
    "id", "store_id", "order_id", "amount", "reason", "status", "notify_customer", "gateway",
    "gateway_reference", "failure_reason", "created_at", "processed_at",
)  # fmt: skip

STATUS_ORDER = tuple(OrderStatus)
# Weights of the current status by the order's age: recent orders are still open, old ones delivered.
AGE_BUCKETS_DAYS = (1.0, 3.0, 7.0)  # < 1 day, < 3, < 7, older
STATUS_WEIGHTS = {
    # pending, confirmed, processing, part. shipped, shipped, part. delivered, delivered, cancelled, refunded
    0: (30, 30, 25, 2, 5, 0, 1, 7, 0),
    1: (5, 10, 25, 5, 35, 3, 10, 7, 0),
    2: (2, 3, 8, 2, 30, 5, 42, 7, 1),
    3: (1, 1, 1, 0.5, 3, 1.5, 81, 7, 4),
}
CANCELLED_FROM = (S.PENDING, S.CONFIRMED, S.PROCESSING, S.PARTIALLY_SHIPPED, S.SHIPPED)
CANCELLED_FROM_CUM = tuple(accumulate((40, 30, 20, 3, 7)))
# Natural delay before a move to this status, in seconds (min, spread); squeezed for recent orders.
DELAYS = {
    S.CONFIRMED: (120.0, 3 * HOUR),
    S.PROCESSING: (HOUR, 12 * HOUR),
    S.PARTIALLY_SHIPPED: (3 * HOUR, DAY),
    S.SHIPPED: (4 * HOUR, 1.5 * DAY),
    S.PARTIALLY_DELIVERED: (DAY, 3 * DAY),
    S.DELIVERED: (DAY, 4 * DAY),
    S.CANCELLED: (600.0, 2 * DAY),
}
REFUND_DELAY = (DAY, 10 * DAY)
# Moves through the forward chain; optional partial steps are spliced in per order.
FORWARD = (S.PENDING, S.CONFIRMED, S.PROCESSING, S.SHIPPED, S.DELIVERED)

Actor = tuple[str, str, str]  # (type, name, api key prefix)


@dataclass
class StoreContext:
    """What a batch needs to know about its store, loaded once. Values are row text (module docstring)."""

    store_id: str
    spec: DemoStore
    # (product id, variant id, external product id, external variant id, snapshot name, sku, price)
    variants: list[tuple[str, str, str, str, str, str, Decimal]]
    # (customer id, email, full name, address JSON)
    customers: list[tuple[str, str, str, str]]
    customer_cum_weights: list[float]
    api_key_actor: Actor
    staff_actors: list[Actor]  # the first one is an admin: refunds need that role
    system_actor: Actor = ("system", "system", "")


@dataclass
class Batch:
    orders: list[tuple] = field(default_factory=list)
    items: list[tuple] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)
    refunds: list[tuple] = field(default_factory=list)


def pick_statuses(rng: random.Random, created_epochs: list[float], now_epoch: float) -> list[OrderStatus]:
    """The current status of each order, by age; every status appears at least once when there is room."""
    cums = {bucket: list(accumulate(weights)) for bucket, weights in STATUS_WEIGHTS.items()}
    statuses = []
    for t in created_epochs:
        cum = cums[bisect(AGE_BUCKETS_DAYS, (now_epoch - t) / DAY)]
        statuses.append(STATUS_ORDER[bisect(cum, rng.random() * cum[-1])])
    if len(statuses) >= len(STATUS_ORDER):
        counts = Counter(statuses)
        for status in STATUS_ORDER:
            if counts[status] == 0:  # take one order of the most common status
                common = counts.most_common(1)[0][0]
                position = rng.choice([i for i, s in enumerate(statuses) if s == common])
                statuses[position] = status
                counts[common] -= 1
                counts[status] += 1
    return statuses


_valid_paths: set[tuple] = set()


def _check_path(path: tuple) -> None:
    """Every move of a generated path is one the transition table allows (checked once per shape)."""
    if path in _valid_paths:
        return
    for a, b in zip(path, path[1:], strict=False):
        if b not in TRANSITIONS[a]:
            raise AssertionError(f"demo path {path} makes the move {a} → {b}, which TRANSITIONS forbids")
    _valid_paths.add(path)


def status_path(rng: random.Random, final: OrderStatus, *, start_confirmed: bool) -> tuple[OrderStatus, ...]:
    """The statuses an order passes through, from its creation status to `final` (refunds excluded)."""
    target = final
    if final == S.CANCELLED:
        target = CANCELLED_FROM[bisect(CANCELLED_FROM_CUM, rng.random() * CANCELLED_FROM_CUM[-1])]
    elif final == S.REFUNDED:
        target = S.DELIVERED
    chain = list(FORWARD)
    if target == S.PARTIALLY_SHIPPED or (target in (S.SHIPPED, S.DELIVERED) and rng.random() < 0.08):
        chain.insert(chain.index(S.SHIPPED), S.PARTIALLY_SHIPPED)
    if target == S.PARTIALLY_DELIVERED or (target == S.DELIVERED and rng.random() < 0.06):
        chain.insert(chain.index(S.DELIVERED), S.PARTIALLY_DELIVERED)
    path = chain[: chain.index(target) + 1]
    if start_confirmed and target != S.PENDING:
        path = path[1:]  # platforms usually import orders already paid, as `confirmed`
    if final == S.CANCELLED:
        path.append(S.CANCELLED)
    result = tuple(path)
    _check_path(result)
    return result


def new_uuid(rng: random.Random) -> str:
    """A random version-4 UUID in canonical text form."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{VARIANT_NIBBLE[h[16]]}{h[17:20]}-{h[20:]}"


# RFC 4122 variant: the first nibble of the fourth group is 8, 9, a or b.
VARIANT_NIBBLE = {c: "89ab"[int(c, 16) % 4] for c in "0123456789abcdef"}
_minutes: dict[float, str] = {}


def timestamp_text(epoch: float) -> str:
    """UTC text of a Unix time, to the microsecond; ~4x cheaper than datetime + isoformat."""
    minute, second = divmod(epoch, 60.0)
    prefix = _minutes.get(minute)
    if prefix is None:
        if len(_minutes) > 500_000:  # bounded: 90 days have 129,600 minutes
            _minutes.clear()
        prefix = _minutes[minute] = datetime.fromtimestamp(minute * 60, tz=UTC).strftime("%Y-%m-%d %H:%M:")
    # "59.9999996" would print as "60.000000", which no timestamp parser accepts.
    return f"{prefix}{min(second, 59.999999):09.6f}+00"


def json_text(value) -> str:
    return orjson.dumps(value).decode()


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _tracking_number(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return f"1Z{rng.getrandbits(64):016X}"
    return f"{carrier[:2].upper()}{rng.randrange(10**11, 10**12)}"


def build_batch(
    ctx: StoreContext,
    rng: random.Random,
    *,
    first_number: int,
    created: list[float],
    statuses: list[OrderStatus],
    now: float,
) -> Batch:
    """Rows for len(created) orders numbered from first_number, created at the given ascending Unix times."""
    spec = ctx.spec
    store_id = ctx.store_id
    batch = Batch()
    add_order, add_item, add_history, add_refund = (
        batch.orders.append,
        batch.items.append,
        batch.history.append,
        batch.refunds.append,
    )
    n = len(created)
    customers = rng.choices(ctx.customers, cum_weights=ctx.customer_cum_weights, k=n)
    variants = ctx.variants
    variant_count = len(variants)
    api_actor, system_actor, staff = ctx.api_key_actor, ctx.system_actor, ctx.staff_actors
    staff_count = len(staff)
    refund_actor = staff[0]
    tax_rate, fee, free_over = spec.tax_rate, spec.shipping_fee, spec.free_shipping_over
    carriers, currency = spec.carriers, spec.currency
    random_ = rng.random
    getrandbits = rng.getrandbits

    def pick(options):
        return options[int(random_() * len(options))]

    for i in range(n):
        number = first_number + i
        t0 = created[i]
        final = statuses[i]
        customer_id, email, name, address = customers[i]
        order_id = new_uuid(rng)

        # Platform: Shopify, WooCommerce or the store's own checkout.
        r = random_()
        if r < 0.40:
            platform, external_id = "Shopify", str(5_200_000_000_000 + number * 7)
        elif r < 0.65:
            platform, external_id = "WooCommerce", f"wc_{10_000 + number}"
        else:
            platform, external_id = "", None

        # Line items: 1–4 distinct variants (a repeated draw makes one line fewer), mostly one unit each.
        r = random_()
        k = 1 if r < 0.55 else 2 if r < 0.85 else 3 if r < 0.96 else 4
        subtotal = ZERO
        item_count = 0
        unit_prices = []
        for position, v in enumerate(dict.fromkeys(int(random_() * variant_count) for _ in range(k))):
            product_id, variant_id, ext_product, ext_variant, item_name, sku, price = variants[v]
            r = random_()
            quantity = 1 if r < 0.78 else 2 if r < 0.95 else 3
            line_subtotal = price * quantity
            subtotal += line_subtotal
            item_count += quantity
            unit_prices.append(price)
            add_item(
                (new_uuid(rng), order_id, product_id, variant_id, ext_product, ext_variant, item_name, sku,
                 str(quantity), str(price), str(line_subtotal), str(position))
            )  # fmt: skip
        discount = _money(subtotal * DISCOUNT_RATE) if random_() < 0.12 else ZERO
        tax = _money((subtotal - discount) * tax_rate)
        shipping = ZERO if subtotal >= free_over else fee
        total = subtotal + tax + shipping - discount

        # The path through the transition table, the refunds, and when each step happened.
        path = status_path(rng, final, start_confirmed=bool(platform) and random_() < 0.7)
        steps = len(path)
        refunds: list[Decimal] = []
        cancel_refund = False
        if final == S.REFUNDED:
            if random_() < 0.25:
                refunds.append(min(unit_prices[0], _money(total / 2)))
            refunds.append(total - sum(refunds, ZERO))
        elif final in (S.DELIVERED, S.PARTIALLY_DELIVERED) and random_() < 0.05:
            refunds.append(min(pick(unit_prices), _money(total / 2)))
        elif final == S.CANCELLED and S.CONFIRMED in path and random_() < 0.9:
            refunds.append(total)
            cancel_refund = True
        delays = [DELAYS[s][0] + DELAYS[s][1] * random_() for s in path[1:]]
        # A cancel's refund is created with the cancel (same transaction); others come days later.
        delays += [0.001 if cancel_refund else REFUND_DELAY[0] + REFUND_DELAY[1] * random_() for _ in refunds]
        available = max(now - t0 - 1.0, 0.5)
        natural = sum(delays)
        scale = available / natural if natural > available else 1.0
        times = [t0]
        for d in delays:
            times.append(times[-1] + d * scale)
        stamps = [timestamp_text(t) for t in times]

        # History: created, then one entry per move.
        metadata: dict = {}
        if discount:
            metadata["discountCode"] = pick(DISCOUNT_CODES)
        creator = api_actor if platform else (system_actor if random_() < 0.85 else pick(staff))
        add_history((store_id, order_id, KIND.CREATED, None, path[0], stamps[0], *creator, "", EMPTY_JSON))
        paid_at = stamps[0] if path[0] == S.CONFIRMED else None
        cancelled_at = None
        cancel_reason = ""
        cancel_actor = refund_actor
        for j in range(1, steps):
            after = path[j]
            entry_meta = EMPTY_JSON
            if after == S.CANCELLED:
                kind = KIND.CANCEL
                note = cancel_reason = pick(CANCEL_REASONS)
                actor = cancel_actor = staff[int(random_() * staff_count)] if random_() < 0.7 else api_actor
                cancelled_at = stamps[j]
                entry_meta = '{"notifyCustomer":true}' if random_() < 0.3 else '{"notifyCustomer":false}'
            else:
                kind = KIND.STATUS
                note = pick(STEP_NOTES[after])
                if after == S.CONFIRMED:
                    actor = api_actor if platform else system_actor
                    paid_at = stamps[j]
                elif after in (S.PROCESSING, S.PARTIALLY_SHIPPED, S.SHIPPED):
                    actor = staff[int(random_() * staff_count)] if random_() < 0.6 else api_actor
                else:
                    actor = system_actor if random_() < 0.5 else api_actor
                if after in (S.PARTIALLY_SHIPPED, S.SHIPPED) and "trackingNumber" not in metadata:
                    carrier = pick(carriers)
                    tracking = {"trackingNumber": _tracking_number(rng, carrier), "carrier": carrier}
                    metadata.update(tracking)
                    entry_meta = json_text(tracking)
            add_history((store_id, order_id, kind, path[j - 1], after, stamps[j], *actor, note, entry_meta))

        # Refunds: each recorded when it was requested, carried out by the gateway seconds later.
        status = path[-1]
        refunded = ZERO
        for j, amount in enumerate(refunds):
            requested = steps + j
            processed_at = timestamp_text(min(times[requested] + 2 + 28 * random_(), now))
            refund_id = new_uuid(rng)
            reason = cancel_reason if cancel_refund else pick(REFUND_REASONS)
            notify = not cancel_refund and random_() < 0.5
            refunded += amount
            before = status
            if refunded == total and status == S.DELIVERED:
                status = S.REFUNDED
            add_refund(
                (refund_id, store_id, order_id, str(amount), reason, "succeeded", TRUE if notify else FALSE,
                 GATEWAY, f"re_{getrandbits(64):016x}", "", stamps[requested], processed_at)
            )  # fmt: skip
            add_history(
                (store_id, order_id, KIND.REFUND, before, status, stamps[requested],
                 *(cancel_actor if cancel_refund else refund_actor), reason,
                 json_text({"refundId": refund_id, "amount": float(amount), "notifyCustomer": notify}))
            )  # fmt: skip
        if status != final:
            raise AssertionError(f"demo order ended in {status}, expected {final}")

        if paid_at is None:
            payment_status = PaymentStatus.UNPAID
        elif refunded == ZERO:
            payment_status = PaymentStatus.PAID
        elif refunded < total:
            payment_status = PaymentStatus.PARTIALLY_REFUNDED
        else:
            payment_status = PaymentStatus.REFUNDED
        if not platform and random_() < 0.2:
            metadata["source"] = pick(("instagram", "newsletter", "google"))
        add_order(
            (order_id, store_id, str(number), external_id, platform, status, payment_status, customer_id, email,
             name, str(item_count), str(subtotal), str(tax), str(shipping), str(discount), str(total),
             str(refunded), currency, address, address, pick(PAYMENT_METHODS),
             f"txn_{getrandbits(64):016x}" if paid_at else "", paid_at,
             json_text(metadata) if metadata else EMPTY_JSON, pick(ORDER_NOTES), cancelled_at, cancel_reason,
             stamps[0], stamps[-1])
        )  # fmt: skip
    return batch
