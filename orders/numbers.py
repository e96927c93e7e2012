"""Which JSON numbers a request may carry (spec §7): integers within ±2**53 — the range every JSON client
(JavaScript's Number included) reads exactly, and far inside the 64 bits orjson writes — and finite
numbers. The middleware applies it to every body, metadata validation (which also bounds fractions) to what it
stores."""

MAX_JSON_INTEGER = 2**53
INTEGER_HELP = (
    f"Integers must be within ±{MAX_JSON_INTEGER} (2**53), the range every JSON client reads exactly; "
    "send a larger number as a string."
)
# Metadata is stored as JSON (PostgreSQL jsonb writes 1e20 back as the integer 100000000000000000000):
# a fraction beyond the range would come back as an integer no client reads exactly.
NUMBER_HELP = (
    f"Numbers must be within ±{MAX_JSON_INTEGER} (2**53), the range every JSON client reads exactly; "
    "send a larger number as a string."
)
NOT_FINITE_HELP = "Numbers must be finite (NaN, Infinity and beyond ±1.8e308 are not)."


def integer_in_range(value: int) -> bool:
    return -MAX_JSON_INTEGER <= value <= MAX_JSON_INTEGER
