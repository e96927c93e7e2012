"""Model instances from rows that PostgreSQL aggregated as JSON (`json_agg(t)` of a table's rows).

Why: an order's detail needs its line items, refunds and history. Three prefetch queries cost about
1.4 ms of Python per answer (three compiles, three round trips, the prefetch machinery), the largest
part of a status update's time; one statement with a `json_agg` per relation costs a quarter of that
(orders/selectors.py, `load_detail_rows`). The rows come back as JSON text, so each column is turned back
into what the database adapter would have given, by the column's field type:

- numbers are parsed as Decimal (money stays exact), integers as int;
- timestamps (ISO 8601 with the session's UTC offset) → aware datetimes, dates → dates;
- UUIDs (also as foreign keys) → UUID;
- JSON columns (metadata) → their value with floats, as Django's JSONField reads it.

A field type not listed here is refused when its model is first read, not guessed.
"""

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
}


def _floats(value: Any) -> Any:
    """A JSON value parsed with Decimal numbers, as plain json.loads gives it: `parse` makes Decimals
    only of numbers with a fraction or exponent, which json.loads makes floats."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_floats(item) for item in value]
    return value


def _none_or(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


_CONVERTERS: dict[str, Callable[[Any], Any] | None] = {
    "DateTimeField": _none_or(datetime.fromisoformat),
    "DateField": _none_or(date.fromisoformat),
    "UUIDField": _none_or(uuid.UUID),
    "DecimalField": _none_or(Decimal),
    "JSONField": _floats,
}


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = target.get_internal_type()
    if kind in _AS_IS:
        return None
    if kind in _CONVERTERS:
        return _CONVERTERS[kind]
    raise TypeError(f"{field.model.__name__}.{field.name}: no JSON reading for a {kind}")


_plans: dict[type[models.Model], tuple[list[str], list[tuple[str, Callable[[Any], Any] | None]]]] = {}


def _plan(model: type[models.Model]) -> tuple[list[str], list[tuple[str, Callable[[Any], Any] | None]]]:
    plan = _plans.get(model)
    if plan is None:
        fields = model._meta.concrete_fields
        plan = _plans[model] = ([f.attname for f in fields], [(str(f.column), _converter(f)) for f in fields])
    return plan


def parse(text: str) -> Any:
    """JSON text from the database, numbers as Decimal."""
    return json.loads(text, parse_float=Decimal)


def instances[M: models.Model](model: type[M], rows: list[dict[str, Any]], *, db: str) -> list[M]:
    """`model` instances (as loaded from the database `db`) from `parse`d `row_to_json` objects."""
    names, columns = _plan(model)
    return [
        model.from_db(db, names, [row[c] if convert is None else convert(row[c]) for c, convert in columns])
        for row in rows
    ]
