"""`Idempotency-Key` on the API's writes (spec §2; orders/api/idempotency.py)."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from orders import services
from orders.models import HistoryEntry, IdempotencyRecord, Refund
from orders.statuses import OrderStatus
from tests.conftest import ApiClient
from tests.factories import make_order


def refund_url(order) -> str:
    return f"/api/v1/orders/{order.id}/refunds"


def test_retry_gets_the_stored_response_byte_for_byte(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    first = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="abc")

    # when
    retry = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="abc")

    # then
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    assert retry["Content-Type"] == "application/json"
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Refund.objects.count() == 1


def test_json_key_order_and_whitespace_do_not_make_a_different_body(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    api.post(
        refund_url(order),
        '{"amount": 3, "reason": "r"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    # when
    retry = api.post(
        refund_url(order),
        '{"reason":"r","amount":3}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    # then
    assert retry["Idempotent-Replayed"] == "true"


def test_same_key_with_a_different_body_is_422(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="abc")

    # when
    response = api.post_json(refund_url(order), {"amount": 4}, HTTP_IDEMPOTENCY_KEY="abc")

    # then
    assert response.status_code == 422
    assert response.json()["errorCode"] == "IDEMPOTENCY_KEY_REUSED"
    assert Refund.objects.count() == 1


def test_same_key_on_another_operation_is_422(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="abc")

    # when
    response = api.patch_json(
        f"/api/v1/orders/{order.id}/metadata", {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="abc"
    )

    # then
    assert response.status_code == 422


def test_claim_left_without_an_answer_by_a_failed_request_is_taken_over_at_once(api, store):
    # given: the key's row holds no answer and no lock — its request rolled back or its process died
    # (an effect and its stored answer commit together, so no answer means no effect)
    order = make_order(store, status=OrderStatus.CONFIRMED)
    IdempotencyRecord.objects.create(
        store=store, key="orphan", method="POST", path=refund_url(order), request_fingerprint="0" * 64
    )

    # when the client retries, at once
    response = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="orphan")
    again = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="orphan")

    # then the retry runs (no 409 for a request that no longer runs), once
    assert response.status_code == 201
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Refund.objects.count() == 1


def test_key_older_than_24h_counts_as_new(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    # when
    response = api.post_json(refund_url(order), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="old")

    # then
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Refund.objects.count() == 2
    assert IdempotencyRecord.objects.filter(key="old").count() == 1


def test_same_key_in_another_store_is_independent(api, other_api, store, other_store):
    # given
    mine = make_order(store, status=OrderStatus.CONFIRMED)
    theirs = make_order(other_store, status=OrderStatus.CONFIRMED)
    api.post_json(refund_url(mine), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="shared")

    # when
    response = other_api.post_json(refund_url(theirs), {"amount": 3}, HTTP_IDEMPOTENCY_KEY="shared")

    # then
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


@pytest.mark.parametrize(("length", "status"), [(255, 201), (256, 400)])
def test_key_length_limit(api, store, length, status):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.post_json(refund_url(order), {"amount": 1}, HTTP_IDEMPOTENCY_KEY="k" * length)

    # then
    assert response.status_code == status
    if status == 400:
        assert response.json()["errorCode"] == "VALIDATION_ERROR"
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_validation_failure_is_not_stored_so_the_fixed_request_can_reuse_the_key(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    bad = api.put_json(f"/api/v1/orders/{order.id}/cancel", {"reason": ""}, HTTP_IDEMPOTENCY_KEY="fix-me")

    # when
    good = api.put_json(f"/api/v1/orders/{order.id}/cancel", {"reason": "ok"}, HTTP_IDEMPOTENCY_KEY="fix-me")

    # then
    assert bad.status_code == 400
    assert good.status_code == 200
    assert "Idempotent-Replayed" not in good


def test_not_found_is_not_stored(api, store):
    # given
    missing = api.put_json("/api/v1/orders/nope/status", {"status": "processing"}, HTTP_IDEMPOTENCY_KEY="nf")

    # when
    make_order(store, status=OrderStatus.CONFIRMED, external_id="nope")
    retry = api.put_json("/api/v1/orders/nope/status", {"status": "processing"}, HTTP_IDEMPOTENCY_KEY="nf")

    # then
    assert missing.status_code == 404
    assert retry.status_code == 200


def test_business_refusal_is_stored_and_replayed(api, store):
    # given
    order = make_order(store, status=OrderStatus.PENDING)
    first = api.put_json(
        f"/api/v1/orders/{order.id}/status", {"status": "shipped"}, HTTP_IDEMPOTENCY_KEY="no"
    )

    # when
    retry = api.put_json(
        f"/api/v1/orders/{order.id}/status", {"status": "shipped"}, HTTP_IDEMPOTENCY_KEY="no"
    )

    # then
    assert first.status_code == retry.status_code == 400
    assert retry.json()["errorCode"] == "INVALID_STATUS_TRANSITION"
    assert retry["Idempotent-Replayed"] == "true"


def test_unexpected_error_is_not_stored(api, store, monkeypatch):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    def boom(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(services, "order_update_metadata", boom)
    failed = api.patch_json(
        f"/api/v1/orders/{order.id}/metadata", {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="retry-me"
    )
    monkeypatch.undo()

    # when
    retry = api.patch_json(
        f"/api/v1/orders/{order.id}/metadata", {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="retry-me"
    )

    # then
    assert failed.status_code == 500
    assert failed.json()["errorCode"] == "INTERNAL_ERROR"
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry


def test_without_the_header_nothing_is_stored(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    api.post_json(refund_url(order), {"amount": 1})

    # then
    assert not IdempotencyRecord.objects.exists()


def test_prune_command_deletes_only_records_older_than_24h(store):
    # given
    IdempotencyRecord.objects.create(
        store=store, key="new", method="POST", path="/x", request_fingerprint="f"
    )
    old = IdempotencyRecord.objects.create(
        store=store, key="old", method="POST", path="/x", request_fingerprint="f"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )

    # when
    call_command("prune_idempotency", verbosity=0)

    # then
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_while_the_first_runs_is_409(store, issued_key, monkeypatch):
    # given: the first request blocks inside the service until released
    order = make_order(store, status=OrderStatus.CONFIRMED)
    entered, release = threading.Event(), threading.Event()
    real = services.order_update_metadata

    def slow(**kwargs):
        entered.set()
        release.wait(timeout=30)
        return real(**kwargs)

    monkeypatch.setattr(services, "order_update_metadata", slow)
    results = {}

    def first():
        try:
            results["first"] = ApiClient(issued_key.plaintext).patch_json(
                f"/api/v1/orders/{order.id}/metadata", {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="race"
            )
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(timeout=30)

    # when
    second = ApiClient(issued_key.plaintext).patch_json(
        f"/api/v1/orders/{order.id}/metadata", {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="race"
    )
    release.set()
    thread.join(timeout=30)
    third = ApiClient(issued_key.plaintext).patch_json(
        f"/api/v1/orders/{order.id}/metadata", {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="race"
    )

    # then
    assert second.status_code == 409
    assert second.json()["errorCode"] == "IDEMPOTENCY_KEY_IN_USE"
    assert results["first"].status_code == 200
    assert third.status_code == 200
    assert third["Idempotent-Replayed"] == "true"
    assert HistoryEntry.objects.filter(order=order, kind="metadata").count() == 1
