"""Money on input (spec §1, §7): the one place for how large an amount may be and how many decimals a
currency takes. Used by the refund and cancel checks and by the create-from-platform amounts.

- Bounded by the money columns (`models.money_field`: 12 digits, 2 of them decimals): at most
  9,999,999,999.99. Anything larger would fail in the database (PostgreSQL: numeric field overflow)
  after other rows of the change were written; here it is a 400 naming the field.
- Held to the currency's ISO 4217 minor units (JPY 0, most 2, KWD 3). The columns keep 2 decimals,
  so a 3-decimal currency is held to 2 here as well (its third decimal could not be stored).
- Finite: NaN, sNaN and ±Infinity are refused. Negative zero is read as zero, so `-0.00` never
  reaches a row, a fingerprint or a response.
"""

from decimal import Decimal

from orders import errors
from orders.errors import FieldError

# Kept equal to models.money_field (a test checks it): this module imports no models, like errors.
MAX_INTEGER_DIGITS = 10
STORED_DECIMALS = 2
MAX_AMOUNT = Decimal(10) ** MAX_INTEGER_DIGITS - Decimal(1).scaleb(-STORED_DECIMALS)
DEFAULT_MINOR_UNITS = 2
# ISO 4217 currencies whose minor unit is not 2 (the list's "E" column).
_NO_MINOR_UNIT = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_NO_MINOR_UNIT.split(" "), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
TOO_LARGE = f"Too large: at most {MAX_AMOUNT} ({MAX_INTEGER_DIGITS} digits before the decimal point)."
NOT_FINITE = "Must be a finite amount."


def minor_units(currency: str) -> int:
    """The currency's decimals per ISO 4217 (2 for a code the table does not list)."""
    return MINOR_UNITS.get(currency.strip().upper(), DEFAULT_MINOR_UNITS)


def decimals_message(currency: str | None) -> str:
    """What to send instead, for an amount with more decimals than `currency` takes here."""
    if currency is None:
        return f"Amounts take at most {STORED_DECIMALS} decimals, e.g. 29.99."
    code = currency.strip().upper()
    places = minor_units(code)
    if places == 0:
        return f"{code} takes no decimals: send a whole amount such as 100."
    if places > STORED_DECIMALS:
        return (
            f"{code} amounts are stored with at most {STORED_DECIMALS} decimals here (ISO 4217 gives "
            f"{code} {places}): round to {STORED_DECIMALS}."
        )
    return f"{code} amounts take at most {places} decimals, e.g. 29.99."


def amount_problem(
    value: Decimal, *, currency: str | None = None, minimum: Decimal | None = None
) -> str | None:
    """Why `value` is not an acceptable amount (in `currency`, ≥ `minimum` if given), or None."""
    if not value.is_finite():
        return NOT_FINITE
    if abs(value) > MAX_AMOUNT:
        return TOO_LARGE
    if minimum is not None and value < minimum:
        return f"Must be {minimum} or more."
    places = min(minor_units(currency), STORED_DECIMALS) if currency else STORED_DECIMALS
    # A finite Decimal within MAX_AMOUNT has a small exponent; normalize() drops trailing zeros (10.50).
    if value.normalize().as_tuple().exponent < -places:  # type: ignore[operator]
        return decimals_message(currency)
    return None


def normalized(value: Decimal) -> Decimal:
    """`value` with negative zero made zero (a Decimal keeps the sign of -0.00)."""
    return abs(value) if value.is_zero() else value


def check_amount(
    value: Decimal,
    *,
    field: str,
    currency: str | None = None,
    minimum: Decimal | None = None,
    error: type[errors.ApiError] = errors.ValidationFailed,
) -> Decimal:
    """`value`, normalized, if it is an acceptable amount; else raise `error` naming `field`."""
    problem = amount_problem(value, currency=currency, minimum=minimum)
    if problem is not None:
        raise error(problem, errors=[FieldError(field, problem)])
    return normalized(value)
