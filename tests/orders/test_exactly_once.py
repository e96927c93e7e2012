"""Exactly-once writes under failure (issue: a retry with the same Idempotency-Key acted twice when a
step failed after the effect had committed). Real PostgreSQL, real commits; the failures are injected
with database triggers that fire once (a sequence, which no rollback resets)."""

import pytest
from django.db import connection

from orders.models import IdempotencyRecord, Refund
from orders.payments import get_gateway
from orders.statuses import OrderStatus
from tests.conftest import ApiClient
from tests.factories import make_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fail_once():
    """`fail_once(table, timing)` makes the first write to `table` fail (at the statement, or deferred to
    COMMIT with timing="commit"); later writes pass."""
    made = []

    def install(
        table: str, *, event: str = "INSERT", timing: str = "statement", terminate: bool = False
    ) -> None:
        name = f"inject_{table}_{event.lower()}"
        deferred = "DEFERRABLE INITIALLY DEFERRED" if timing == "commit" else ""
        # An error, or the connection cut as a database restart or failover cuts it.
        fault = (
            "PERFORM pg_terminate_backend(pg_backend_pid())"
            if terminate
            else "RAISE EXCEPTION 'injected failure'"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SEQUENCE {name}_seq")
            cursor.execute(
                f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF nextval('{name}_seq') = 1 THEN {fault}; END IF;
                  RETURN NULL;
                END $$"""
            )
            cursor.execute(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER {event} ON {table} {deferred} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        made.append((table, name))

    yield install
    with connection.cursor() as cursor:
        for table, name in made:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            cursor.execute(f"DROP SEQUENCE IF EXISTS {name}_seq")


def refund_url(order) -> str:
    return f"/api/v1/orders/{order.id}/refunds"


def payouts_for(order) -> int:
    refund_ids = {str(pk) for pk in Refund.objects.filter(order=order).values_list("id", flat=True)}
    return len([key for key in get_gateway().payouts if key in refund_ids])


def test_storing_the_answer_fails_after_the_refund_was_written_then_the_retry_refunds_once(
    store, issued_key, fail_once
):
    # given: the refund is written, then storing the request's answer fails (what a dropped connection
    # after the effect's commit did before: the client got 500 and a later retry refunded again)
    order = make_order(store, status=OrderStatus.CONFIRMED)
    fail_once("orders_idempotencyrecord", event="UPDATE")
    api = ApiClient(issued_key.plaintext)

    # when
    first = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="pay-1")
    retry = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="pay-1")

    # then: the failed attempt left nothing; the retry ran once; the next one replays it
    assert first.status_code == 500
    assert first.json()["errorCode"] == "INTERNAL_ERROR"
    assert (retry.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in retry
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == retry.content
    assert Refund.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert str(order.refunded_amount) == "3.00"
    assert payouts_for(order) == 1


def test_commit_of_the_refund_fails_then_the_retry_runs_at_once_and_refunds_once(
    store, issued_key, fail_once
):
    # given: the transaction that writes the refund fails at COMMIT
    order = make_order(store, status=OrderStatus.CONFIRMED)
    fail_once("orders_refund", timing="commit")
    api = ApiClient(issued_key.plaintext)

    # when
    first = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="pay-2")
    retry = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="pay-2")

    # then: no 409 for a request that no longer runs, and one refund
    assert first.status_code == 500
    assert retry.status_code == 201
    assert Refund.objects.filter(order=order).count() == 1
    assert payouts_for(order) == 1
    assert IdempotencyRecord.objects.get(key="pay-2").response_status == 201


def test_the_gateway_is_asked_with_the_refund_id_as_its_idempotency_key(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.post_json(refund_url(order), {"amount": 3})

    # then
    assert response.status_code == 201
    refund = Refund.objects.get(order=order)
    calls = [c for c in get_gateway().calls if c["refund_id"] == str(refund.id)]
    assert [c["idempotency_key"] for c in calls] == [str(refund.id)]


def test_a_connection_lost_mid_write_is_503_with_retry_after_and_the_retry_refunds_once(
    store, issued_key, fail_once
):
    # given: the database connection is cut while the refund is being written
    order = make_order(store, status=OrderStatus.CONFIRMED)
    fail_once("orders_refund", terminate=True)
    api = ApiClient(issued_key.plaintext)

    # when
    first = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="pay-3")
    retry = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="pay-3")

    # then: "come back in a moment", not a 500 and not 409 (nothing is running), and one refund
    assert first.status_code == 503
    assert first.json()["errorCode"] == "SERVICE_UNAVAILABLE"
    assert first["Retry-After"] == "2"
    assert retry.status_code == 201
    assert Refund.objects.filter(order=order).count() == 1
    assert payouts_for(order) == 1
