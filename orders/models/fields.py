"""Field helpers shared by the models: money is Decimal (12 digits, 2 places)."""

from decimal import Decimal

from django.db import models


def money_field(**kwargs) -> models.DecimalField:
    """Money in major units: up to 9,999,999,999.99."""
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


ZERO = Decimal("0.00")
