"""The API's timestamp format, importable without loading the API package (which registers every
router on import): domain modules such as orders/serializers.py use it too."""

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and Z (spec §1)."""
    if value is None:
        return None
    # isoformat is several times faster than strftime, which matters on 50-row pages and exports.
    return value.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"
