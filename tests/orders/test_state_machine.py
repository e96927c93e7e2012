"""The status machine through the API: the transition table of spec §3.1, exhaustively and by property.

The expected table is the literal one of tests/orders/transition_table.py, never orders.statuses.

1. Every one of the 81 (from, to) pairs: a move of the table succeeds, every other move is refused.
   (`allowedTransitions` and GET /orders/statuses are held to the same table in test_get_order.py and
   test_order_statuses.py.)
2. The seed doc's "validate transitions before updating" table is allowed.
3. A Hypothesis state machine drives status changes, cancels, refunds, links and metadata against one
   order and checks after every step that the API agrees with a tiny model of the rules.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from orders.auth import api_key_create
from orders.models import HistoryEntry, Order, Refund, WebhookEvent
from tests.conftest import ApiClient
from tests.factories import StoreFactory, make_order
from tests.orders.transition_table import CANCELLABLE, PAIRS, STATUSES, TABLE, allowed

ALL = list(STATUSES)
CENT = Decimal("0.01")

# The seed document's client-side table (shared/reference/seed-orders-api-doc.txt).
SEED_TRANSITIONS = {
    "pending": ["confirmed", "cancelled"],
    "confirmed": ["processing", "cancelled"],
    "processing": ["shipped", "cancelled"],
    "shipped": ["delivered", "cancelled"],
}


def test_the_literal_table_has_all_81_pairs():
    assert len(STATUSES) == len(set(STATUSES)) == 9
    assert list(TABLE) == list(STATUSES)
    assert all(len(row) == 9 and set(row) <= {0, 1} for row in TABLE.values())
    assert len(PAIRS) == 81


@pytest.mark.parametrize(("from_status", "to_status", "is_allowed"), PAIRS)
def test_every_pair_follows_the_table(api, store, from_status, to_status, is_allowed):
    # given
    order = make_order(store, status=from_status)

    # when
    response = api.put_json(f"/api/v1/orders/{order.id}/status", {"status": to_status})

    # then
    order.refresh_from_db()
    if is_allowed:
        assert response.status_code == 200, response.content
        assert response.json()["data"]["status"] == to_status
        assert order.status == to_status
    else:
        if from_status == "cancelled":
            assert (response.status_code, response.json()["errorCode"]) == (409, "ORDER_ALREADY_CANCELLED")
        else:
            assert (response.status_code, response.json()["errorCode"]) == (400, "INVALID_STATUS_TRANSITION")
        assert order.status == from_status


@pytest.mark.parametrize(
    ("from_status", "to_status"), [(f, t) for f, targets in SEED_TRANSITIONS.items() for t in targets]
)
def test_the_seed_docs_transitions_are_allowed(api, store, from_status, to_status):
    # given
    order = make_order(store, status=from_status)

    # when
    response = api.put_json(f"/api/v1/orders/{order.id}/status", {"status": to_status})

    # then
    assert response.status_code == 200


# Metadata the API must accept (spec §3.10, §7): keys of 1–40 characters, strings of ≤500, integers
# within ±2**53, booleans, null; no NUL and no lone surrogate anywhere (the API refuses those, 400 — see
# test_metadata_with_nul_is_refused_and_changes_nothing). At most 5 keys a patch, so the ≤8 steps of a
# run stay under the order's 50 keys.
TEXT_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
VALID_METADATA = st.dictionaries(
    keys=st.text(TEXT_CHARS, min_size=1, max_size=40),
    values=st.one_of(
        st.none(),
        st.text(TEXT_CHARS, max_size=500),
        st.integers(-(2**53), 2**53),
        st.booleans(),
    ),
    max_size=5,
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "metadata",
    [{"note": "a\x00b"}, {"k\x00ey": "value"}, {"ok": "fine", "bad": "\x00"}],
    ids=["in-a-value", "in-a-key", "beside-a-valid-key"],
)
def test_metadata_with_nul_is_refused_and_changes_nothing(api, store, metadata):
    # given
    order = make_order(store, status="confirmed", metadata={"keep": "me"})
    before = Order.objects.filter(pk=order.pk).values("metadata", "updated_at").get()
    entries = HistoryEntry.objects.filter(order=order).count()
    events = WebhookEvent.objects.count()

    # when
    response = api.patch_json(f"/api/v1/orders/{order.id}/metadata", {"metadata": metadata})

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert Order.objects.filter(pk=order.pk).values("metadata", "updated_at").get() == before
    assert HistoryEntry.objects.filter(order=order).count() == entries
    assert WebhookEvent.objects.count() == events
    assert api.get(f"/api/v1/orders/{order.id}").json()["data"]["metadata"] == {"keep": "me"}


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class OrderLifecycle(RuleBasedStateMachine):
    """One order, driven through the API; the model is the rules written as plainly as possible."""

    @initialize(status=st.sampled_from(ALL))
    def create(self, status):
        store = StoreFactory()
        self.api = ApiClient(api_key_create(store=store).plaintext)
        self.order = make_order(store, status=status)
        self.status = str(status)
        self.paid = status != "pending"
        self.total = self.order.total
        self.refunded = Decimal("0.00")
        self.external_id: str | None = None
        self.history = [("created", None, self.status)]
        self.metadata: dict = {}

    def _refundable(self) -> Decimal:
        return self.total - self.refunded if self.paid else Decimal("0.00")

    def _refund_accepted(self, amount: Decimal) -> None:
        before = self.status
        self.refunded += amount
        if self.status == "delivered" and self.refunded == self.total:
            self.status = "refunded"
        self.history.append(("refund", before, self.status))

    @rule(to=st.sampled_from([*ALL, "bogus"]))
    def set_status(self, to):
        response = self.api.put_json(f"/api/v1/orders/{self.order.id}/status", {"status": str(to)})
        if to == "bogus":
            assert (response.status_code, response.json()["errorCode"]) == (400, "INVALID_STATUS")
        elif self.status == "cancelled":
            assert (response.status_code, response.json()["errorCode"]) == (409, "ORDER_ALREADY_CANCELLED")
        elif to in allowed(self.status):
            assert response.status_code == 200, response.content
            kind = "cancel" if to == "cancelled" else "status"
            self.history.append((kind, self.status, str(to)))
            self.status = str(to)
            self.paid = self.paid or to == "confirmed"
        else:
            assert (response.status_code, response.json()["errorCode"]) == (400, "INVALID_STATUS_TRANSITION")

    @rule(share=st.sampled_from([None, Decimal("0.25"), Decimal("1"), Decimal("2")]))
    def cancel(self, share):
        body = {"reason": "model says so"}
        amount = None
        if share is not None:
            amount = (self.total * share).quantize(CENT)
            body["refundAmount"] = str(amount)
        response = self.api.put_json(f"/api/v1/orders/{self.order.id}/cancel", body)
        if self.status == "cancelled":
            assert (response.status_code, response.json()["errorCode"]) == (409, "ORDER_ALREADY_CANCELLED")
        elif self.status not in CANCELLABLE:
            assert (response.status_code, response.json()["errorCode"]) == (409, "INVALID_CANCELLATION")
        elif amount is not None and (amount <= 0 or amount > self._refundable()):
            assert (response.status_code, response.json()["errorCode"]) == (400, "INVALID_REFUND_AMOUNT")
        else:
            assert response.status_code == 200, response.content
            self.history.append(("cancel", self.status, "cancelled"))
            self.status = "cancelled"
            if amount is not None:
                self._refund_accepted(amount)

    @rule(
        share=st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal("1"), Decimal("1.5")]),
        rest=st.booleans(),
    )
    def refund(self, share, rest):
        amount = self._refundable() if rest else (self.total * share).quantize(CENT)
        response = self.api.post_json(f"/api/v1/orders/{self.order.id}/refunds", {"amount": str(amount)})
        if amount <= 0 or amount > self._refundable():
            assert (response.status_code, response.json()["errorCode"]) == (400, "INVALID_REFUND_AMOUNT")
        else:
            assert response.status_code == 201, response.content
            self._refund_accepted(amount)

    @rule(external_id=st.sampled_from(["shop-A", "shop-B"]))
    def link(self, external_id):
        response = self.api.put_json(
            f"/api/v1/orders/{self.order.id}/link", {"externalOrderId": external_id, "platformName": "Shop"}
        )
        if self.external_id in (None, external_id):
            assert response.status_code == 200, response.content
            if self.external_id is None:
                self.history.append(("link", self.status, self.status))
            self.external_id = external_id
        else:
            assert (response.status_code, response.json()["errorCode"]) == (409, "ORDER_ALREADY_LINKED")

    @rule(patch=VALID_METADATA)
    def metadata(self, patch):
        response = self.api.patch_json(f"/api/v1/orders/{self.order.id}/metadata", {"metadata": patch})
        assert response.status_code == 200, response.content
        self.history.append(("metadata", self.status, self.status))
        for key, value in patch.items():
            if value is None:
                self.metadata.pop(key, None)
            else:
                self.metadata[key] = value

    @invariant()
    def api_agrees_with_the_model(self):
        data = self.api.get(f"/api/v1/orders/{self.order.id}").json()["data"]
        assert data["status"] == self.status
        assert data["allowedTransitions"] == allowed(self.status)
        assert data["metadata"] == self.metadata
        assert _money(data["refundedAmount"]) == self.refunded
        assert sum((_money(r["amount"]) for r in data["refunds"]), Decimal("0.00")) == self.refunded
        expected_payment = (
            "unpaid"
            if not self.paid
            else "paid"
            if self.refunded == 0
            else "refunded"
            if self.refunded == self.total
            else "partially_refunded"
        )
        assert data["paymentStatus"] == expected_payment
        history = [(e["kind"], e["fromStatus"], e["toStatus"]) for e in data["statusHistory"]]
        assert history == self.history
        assert Refund.objects.filter(order=self.order).count() == len(data["refunds"])

    @invariant()
    def terminal_states_only_move_by_the_rules(self):
        # cancelled and refunded never change; delivered changes only to refunded, by a refund.
        for kind, before, after in self.history[1:]:
            if before in ("cancelled", "refunded"):
                assert after == before
            if before == "delivered" and after != before:
                assert (kind, after) == ("refund", "refunded")


@pytest.mark.django_db
def test_order_lifecycle_state_machine():
    run_state_machine_as_test(
        OrderLifecycle,
        settings=settings(
            max_examples=200,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
