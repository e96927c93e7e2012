"""The API against its own OpenAPI document: schemathesis generates requests for every operation (valid
and invalid ones: its deterministic coverage cases, the schema's examples and Hypothesis fuzzing) and runs
all its checks on each answer — no 5xx, only documented status codes, bodies and headers matching the
documented schemas, the documented content type, valid data accepted and invalid data refused, 405 for
undeclared methods — plus `documented_error_code` below. In-process through the WSGI app (the whole
middleware chain), with a real database and a real private key of a real store.

Half of the valid cases name real objects of the key's store in their path (path_objects.PATH_VALUES), so
operations get past the 404 and do their work. Deterministic: Hypothesis is derandomized and keeps no
example database, so a CI run cannot fail at random. The run prints `schemathesis: N cases, F failures`.
"""

import ipaddress
import socket
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from config.wsgi import application
from tests.factories import StoreFactory
from tests.orders.api.path_objects import PATH_VALUES, StoreObjects, make_store_objects, path_values

pytestmark = pytest.mark.django_db

# Hypothesis examples per operation (the fuzzing phase); the coverage phase adds ~1,900 cases of its own.
EXAMPLES_PER_OPERATION = 15
MIN_CASES = 1_000

# Schema-valid requests these operations may refuse with 400: their rules are not expressible in JSON
# Schema. Every other operation must accept every schema-valid request (positive_data_acceptance).
BUSINESS_RULES = {
    "list_orders": "dateFrom/updatedFrom not after dateTo/updatedTo; years 1900–9000; a cursor of this walk",
    "export_orders": "dateFrom/updatedFrom not after dateTo/updatedTo; years 1900–9000",
    "get_order_stats": "the dates as in the list; the daily series covers at most STATS_MAX_DAYS days",
    "list_history": "dateFrom not after dateTo; years 1900–9000; a cursor of this walk",
    "create_order_from_platform": "totals add up; stock; the currency's decimals; customerId or customerInfo",
    "update_order_status": "the transition table",
    "cancel_order": "a non-blank reason; refundAmount ≤ the refundable amount",
    "create_refund": "0 < amount ≤ the refundable amount, in the currency's decimals",
    "link_order": "a non-blank external id",
    "update_order_metadata": "≤ 50 keys after the merge; flat values",
    "sync_products": "the currency's decimals",
    "create_webhook": "the URL resolves to public addresses; ≤ 10 endpoints per store",
    "update_webhook": "the URL resolves to public addresses",
    "retry_webhook_delivery": "the endpoint is enabled",
}
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240115,
        "generation": {
            "mode": "all",
            "deterministic": True,
            "database": "none",
            # The test sends the fixture's real key; refused keys have their own tests (auth_cases.py).
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
        },
        "operations": [
            {
                "include-operation-id": [*BUSINESS_RULES, *(f"sdk_{op}" for op in BUSINESS_RULES)],
                "checks": {"positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "400"]}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)


@dataclass
class Run:
    cases: int = 0
    per_operation: Counter = field(default_factory=Counter)
    failed: dict[str, str] = field(default_factory=dict)


RUN = Run()


@pytest.fixture(scope="module", autouse=True)
def _summary(pytestconfig):
    yield
    line = f"schemathesis: {RUN.cases} cases, {len(RUN.failed)} failures"
    if RUN.failed:
        line += " (" + "; ".join(f"{op}: {why}" for op, why in sorted(RUN.failed.items())) + ")"
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(line)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes the database connection at the end of each request it serves, which would end the
    test's transaction; its own test Client turns that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch):
    """Webhook URLs are resolved (the SSRF guard): names other than IP literals and localhost do not
    resolve here, so no run waits on (or depends on) a DNS server."""
    resolve = socket.getaddrinfo

    def offline(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            if name != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "no DNS in this test") from None
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", offline)


@pytest.fixture
def objects(db) -> StoreObjects:
    return make_store_objects(StoreFactory(name="Schemathesis", currency="USD", timezone="UTC"))


def _name_real_objects(case, objects: StoreObjects) -> None:
    """Every other valid case names the store's real objects in its path, taking turns between the ways
    an object can be named (an order by UUID, then by external ID)."""
    if not case.path_parameters or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    label = case.operation.label
    turn = RUN.per_operation[label]
    if turn % 2:
        return
    names = list(case.path_parameters)
    unknown = set(names) - set(PATH_VALUES)
    assert not unknown, f"{label}: add a way to make a real {sorted(unknown)} to path_objects.PATH_VALUES"
    case.path_parameters.update(path_values(objects, names, way=(turn // 2) % 2))


@schemathesis.check
def documented_error_code(ctx, response, case):
    """An error's `errorCode` is one that its response lists (`x-errorCodes`), not just any known code."""
    if response.status_code < 400:
        return
    documented = case.operation.definition.raw.get("responses", {}).get(str(response.status_code), {})
    codes = documented.get("x-errorCodes")
    if codes is None:
        return  # an undocumented status is status_code_conformance's finding
    code = response.json().get("errorCode")
    if code not in codes:
        raise AssertionError(f"errorCode {code!r} is not documented for {response.status_code}: {codes}")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi(case, objects):
    _name_real_objects(case, objects)
    RUN.cases += 1
    RUN.per_operation[case.operation.label] += 1
    try:
        case.call_and_validate(headers={"X-API-Key": objects.key}, additional_checks=[documented_error_code])
    except BaseException as exc:
        found = getattr(exc, "exceptions", None) or [exc]
        why = "; ".join(f"{type(e).__name__}: {str(e).strip().splitlines()[0]}" for e in found)
        RUN.failed.setdefault(case.operation.label, why[:300])
        raise


def test_the_run_covered_every_operation_with_enough_cases():
    # Runs after the operations above (pytest keeps a module's order); meaningless for a partial run.
    operations = {op.ok().label for op in schema.get_all_operations()}
    if set(RUN.per_operation) != operations:
        missing = sorted(operations - set(RUN.per_operation))
        pytest.skip(f"only part of the schemathesis run was selected (not run: {', '.join(missing[:5])} …)")
    assert RUN.cases >= MIN_CASES, f"schemathesis ran {RUN.cases} cases; at least {MIN_CASES} were expected"


# Cases schemathesis found, replayed exactly so that they stay covered whatever the generator draws next.
FOUND = [
    # A UTC offset beyond PostgreSQL's ±15:59 reached the query as it was: a DataError, 500. (The offset is
    # legal ISO 8601; the instant is 1984-07-03T13:34:16Z.)
    ("/api/v1/orders/stats", "dateTo", "1984-07-02T17:01:16-20:33"),
    ("/api/v1/orders", "dateTo", "1984-07-02T17:01:16-20:33"),
    ("/api/v1/orders", "dateFrom", "1984-07-02T17:01:16+23:59"),
    ("/api/v1/orders/export", "updatedTo", "1984-07-02T17:01:16-20:33"),
    ("/api/v1/history", "dateFrom", "1984-07-02T17:01:16+23:59"),
]


@pytest.mark.parametrize(("path", "parameter", "value"), FOUND)
def test_found_by_schemathesis_stays_fixed(api, path, parameter, value):
    # when (the export's body is streamed: read to the end, where a failure would cut it short)
    response = api.get(path, {parameter: value})
    content = b"".join(response.streaming_content) if response.streaming else response.content
    # then the filter is taken (200) or refused naming the parameter (400), never a 500
    assert response.status_code in {200, 400}, content
    if response.status_code == 400:
        body = response.json()
        assert body["errorCode"] == "VALIDATION_ERROR"
        assert parameter in [e["field"] for e in body["errors"]]
