"""The API key cache (orders/auth.py): a key's row is read once per API_KEY_CACHE_SECONDS per process,
revoking in this process takes effect at once, and elsewhere within the cache's lifetime."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import auth
from orders.auth import api_key_authenticate, api_key_revoke
from orders.models import ApiKey, Store


def _key_reads(queries) -> int:
    return sum('FROM "orders_apikey"' in q["sql"] and q["sql"].lstrip().startswith("SELECT") for q in queries)


def test_a_known_key_is_read_from_the_database_once_per_cache_lifetime(issued_key, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    # when
    with CaptureQueriesContext(connection) as queries:
        first = api_key_authenticate(issued_key.plaintext)
        second = api_key_authenticate(issued_key.plaintext)
    # then
    assert first is not None
    assert second is not None
    assert first.pk == second.pk == issued_key.api_key.pk
    assert _key_reads(queries) == 1


def test_with_a_zero_lifetime_every_request_reads_the_key(issued_key, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        api_key_authenticate(issued_key.plaintext)
        api_key_authenticate(issued_key.plaintext)
    assert _key_reads(queries) == 2


def test_revoking_in_this_process_refuses_the_key_at_once(api, issued_key, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    assert api.get("/api/v1/orders").status_code == 200
    # when
    api_key_revoke(prefix=issued_key.api_key.prefix)
    # then
    assert api.get("/api/v1/orders").status_code == 401


def test_a_key_revoked_by_another_process_stops_working_when_its_cache_entry_expires(
    api, issued_key, settings, monkeypatch
):
    settings.API_KEY_CACHE_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    assert api.get("/api/v1/orders").status_code == 200
    # given: revoked without this process knowing (no signal, no api_key_revoke here)
    ApiKey.objects.filter(pk=issued_key.api_key.pk).update(revoked_at=timezone.now())
    # then: still served within the lifetime, refused after it
    clock[0] += 4.9
    assert api.get("/api/v1/orders").status_code == 200
    clock[0] += 0.2
    assert api.get("/api/v1/orders").status_code == 401


def test_saving_a_store_drops_the_cached_key_so_its_new_values_are_used(issued_key, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    assert api_key_authenticate(issued_key.plaintext).store.timezone == "UTC"
    # when
    store = Store.objects.get(pk=issued_key.api_key.store_id)
    store.timezone = "Europe/Rome"
    store.save()
    # then
    assert api_key_authenticate(issued_key.plaintext).store.timezone == "Europe/Rome"


def test_each_caller_gets_its_own_copy_of_the_key_and_store(issued_key, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    mine = api_key_authenticate(issued_key.plaintext)
    # when: one request changes its objects in memory
    mine.name = "changed in memory"
    mine.store.name = "changed in memory"
    # then: the next request does not see it
    theirs = api_key_authenticate(issued_key.plaintext)
    assert theirs.name == "Test key"
    assert theirs.store.name == "Acme"
