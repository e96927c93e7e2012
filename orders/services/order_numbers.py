"""Order numbers (`ORD-000123`, spec §3.2): per store, increasing, unique — handed out without a lock
that lasts until the create commits, so creates of one store run in parallel.

The counter is `Store.last_order_number` (the last number handed out). On PostgreSQL a create bumps it
with one `UPDATE … RETURNING` on a second connection of its own thread, in autocommit: the row lock of
that UPDATE lasts for that statement only, while the create's own transaction goes on. A number is
therefore never handed out twice, but a create that rolls back after taking one leaves a gap (the
spec asks for unique, sequential numbers; it does not ask for gapless ones). The create allocates after
its checks, so a refused request (unknown variant, short stock) takes no number; only a failure after
that (a lost race on `externalOrderId`, a database error) leaves a gap.

The second connection runs with `synchronous_commit = off`: an order that uses a number commits after
the bump, and its commit flushes the write-ahead log up to and past the bump's, so no committed order
can outlive the bump of its number in a crash.

The bump stays in the caller's transaction (a lock held to commit, as before) when:
- the database is SQLite: its IMMEDIATE transactions serialise every writer anyway;
- the caller is not in a transaction: the statement commits at once on the caller's connection;
- the store row is not visible outside the caller's transaction (created in it, as in tests that run
  in one transaction): nobody else can create orders for that store yet;
- the row stays locked by another transaction past LOCK_TIMEOUT (e.g. one that locked the store row and
  then creates an order itself, which waiting on a second connection would deadlock).
"""

import threading

from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from orders.models import Store

# How long the second connection waits for the store row before falling back (milliseconds). The bump
# itself holds it for microseconds; only a transaction that keeps the store row locked waits this out.
LOCK_TIMEOUT_MS = 2000
SIDE_ALIAS = "order-numbers"

_BUMP_SQL = (
    f'UPDATE "{Store._meta.db_table}" SET "last_order_number" = "last_order_number" + 1 '  # noqa: S608
    'WHERE "id" = %s RETURNING "last_order_number"'
)
_local = threading.local()


def order_number_next(*, store_id) -> int:
    """The store's next order number, taken for good (a rollback of the caller leaves a gap).

    Raises Store.DoesNotExist if the store is gone.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        number = _bump_on_side_connection(store_id)
        if number is not None:
            return number
    return _bump(connection, store_id)


def _bump(conn: BaseDatabaseWrapper, store_id) -> int:
    with conn.cursor() as cursor:
        cursor.execute(_BUMP_SQL, [Store._meta.pk.get_db_prep_value(store_id, conn)])
        row = cursor.fetchone()
    if row is None:
        raise Store.DoesNotExist(f"No store {store_id}.")
    return row[0]


def _bump_on_side_connection(store_id) -> int | None:
    """The bump in autocommit on this thread's second connection; None when it must stay in the caller's
    transaction (the row is not visible there, or stays locked past LOCK_TIMEOUT_MS)."""
    side = _side_connection()
    try:
        with side.cursor() as cursor:
            cursor.execute(_BUMP_SQL, [Store._meta.pk.get_db_prep_value(store_id, side)])
            row = cursor.fetchone()
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available: fall back
            raise
        row = None
    finally:
        # Honour CONN_MAX_AGE like Django does for the default connection at the end of a request
        # (0: closed now), and drop a connection that failed.
        side.close_if_unusable_or_obsolete()
    return row[0] if row is not None else None


def _side_connection() -> BaseDatabaseWrapper:
    side = getattr(_local, "connection", None)
    if side is None:
        default = connections[DEFAULT_DB_ALIAS]
        settings_dict = dict(default.settings_dict)
        options = dict(settings_dict.get("OPTIONS") or {})
        options["options"] = " ".join(
            part
            for part in (
                options.get("options", ""),
                f"-c lock_timeout={LOCK_TIMEOUT_MS}",
                "-c synchronous_commit=off",
            )
            if part
        )
        settings_dict["OPTIONS"] = options
        side = type(default)(settings_dict, alias=SIDE_ALIAS)
        _local.connection = side
    return side
