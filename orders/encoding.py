"""The one JSON encoding of the API's bodies, stored idempotent answers and NDJSON exports."""

from decimal import Decimal

import orjson


def _default(value):
    # Money is Decimal inside; on the wire it is a JSON number with the currency's decimals. A 2-place
    # Decimal below 2**53/100 round-trips exactly through float's shortest repr.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Cannot serialise {type(value).__name__}")


def dumps(data) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_UTC_Z)
