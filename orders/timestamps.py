"""The API's timestamp format, importable without loading the API package (which registers every
router on import): domain modules such as orders/serializers.py use it too."""

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and Z (spec §1)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
