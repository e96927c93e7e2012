"""The status machine through the API: the transition table of spec §3.1, exhaustively and by property.

1. Every one of the 81 (from, to) pairs: a move of the table succeeds, every other move is refused.
2. The seed doc's "validate transitions before updating" table is allowed.
3. A Hypothesis state machine drives status changes, cancels, refunds, links and metadata against one
   order and checks after every step that the API agrees with a tiny model of the rules.
"""

from decimal import Decimal
from itertools import product

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from orders.auth import api_key_create
from orders.models import Refund
from orders.statuses import CANCELLABLE, TRANSITIONS, OrderStatus
from tests.conftest import ApiClient
from tests.factories import StoreFactory, make_order

ALL = list(OrderStatus)
CENT = Decimal("0.01")

# The seed document's client-side table (shared/reference/seed-orders-api-doc.txt).
SEED_TRANSITIONS = {
    "pending": ["confirmed", "cancelled"],
    "confirmed": ["processing", "cancelled"],
    "processing": ["shipped", "cancelled"],
    "shipped": ["delivered", "cancelled"],
}


@pytest.mark.parametrize(("from_status", "to_status"), list(product(ALL, ALL)))
def test_every_pair_follows_the_table(api, store, from_status, to_status):
    # given
    order = make_order(store, status=from_status)

    # when
    response = api.put_json(f"/api/v1/orders/{order.id}/status", {"status": to_status})

    # then
    if to_status in TRANSITIONS[from_status]:
        assert response.status_code == 200, response.content
        assert response.json()["data"]["status"] == to_status
    elif from_status == OrderStatus.CANCELLED:
        assert (response.status_code, response.json()["errorCode"]) == (409, "ORDER_ALREADY_CANCELLED")
    else:
        assert (response.status_code, response.json()["errorCode"]) == (400, "INVALID_STATUS_TRANSITION")
        order.refresh_from_db()
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
        self.paid = status != OrderStatus.PENDING
        self.total = self.order.total
        self.refunded = Decimal("0.00")
        self.external_id: str | None = None
        self.history = [("created", None, self.status)]

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
        elif to in TRANSITIONS[OrderStatus(self.status)]:
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
        elif OrderStatus(self.status) not in CANCELLABLE:
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

    @rule(value=st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 5), st.booleans()))
    def metadata(self, value):
        response = self.api.patch_json(f"/api/v1/orders/{self.order.id}/metadata", {"metadata": {"k": value}})
        assert response.status_code == 200, response.content
        self.history.append(("metadata", self.status, self.status))

    @invariant()
    def api_agrees_with_the_model(self):
        data = self.api.get(f"/api/v1/orders/{self.order.id}").json()["data"]
        assert data["status"] == self.status
        assert data["allowedTransitions"] == [str(s) for s in TRANSITIONS[OrderStatus(self.status)]]
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
