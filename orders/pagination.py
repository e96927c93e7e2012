"""Opaque keyset cursors for the list endpoints (orders, history feed).

A cursor is base64url(JSON) of the sort-key values of the last row returned plus its id, and a short
hash of the filters and sort it was made for. Continuing `WHERE (sort_col, id) < (last values)` in the
same order never skips or repeats a row while new rows arrive, and costs the same at any depth (the
composite indexes start the scan at the cursor). A cursor presented with other filters or another sort
is refused rather than silently returning a different walk.
"""

import base64
import binascii
import hashlib
import json
from typing import Any

from orders import errors
from orders.errors import FieldError

CURSOR_VERSION = 1


def fingerprint(*parts: Any) -> str:
    """A short stable hash of what a walk depends on (filters, sort)."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(key: list[Any], walk: str) -> str:
    """`key`: the sort value(s) and id of the last row, as JSON-safe values (str/int)."""
    raw = json.dumps({"v": CURSOR_VERSION, "k": key, "f": walk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_NOT_OURS = "it is not a cursor this API returned; pass `nextCursor` unchanged."


def invalid_cursor(message: str = _NOT_OURS) -> errors.ApiError:
    return errors.ValidationFailed(f"Invalid cursor: {message}", errors=[FieldError("cursor", message)])


def decode_cursor(token: str, walk: str, key_length: int) -> list[Any]:
    """The key stored in `token`. Raises ValidationFailed (field `cursor`) for a malformed cursor or
    one made for other filters/sort."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_cursor() from None
    if (
        not isinstance(data, dict)
        or data.get("v") != CURSOR_VERSION
        or not isinstance(data.get("k"), list)
        or len(data["k"]) != key_length
    ):
        raise invalid_cursor()
    if data.get("f") != walk:
        raise invalid_cursor(
            "it was made for other filters or another sort; repeat the request that returned it with "
            "the same filters and sort, or start again without a cursor."
        )
    return data["k"]
