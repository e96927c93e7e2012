"""Which stored columns hold secretbox tokens, declared by each app from its AppConfig.ready().

`manage.py reencrypt_secrets` walks these; the apps keep reading and writing the columns themselves
(encrypt/decrypt with the same purpose), so registering changes nothing for their callers.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class EncryptedField:
    model_label: str  # "app_label.ModelName"
    field_name: str
    purpose: str

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def __str__(self) -> str:
        return f"{self.model_label}.{self.field_name}"


_registry: dict[tuple[str, str], EncryptedField] = {}


def register(model_label: str, field_name: str, *, purpose: str) -> None:
    """Declare that `model_label.field_name` holds tokens of `purpose`. Registering the same column
    again with the same purpose is a no-op; with another purpose it is an error (its values could no
    longer be read). Call it from ready(): the model and field are looked up, so a typo fails at start."""
    field = EncryptedField(model_label=model_label, field_name=field_name, purpose=purpose)
    field.model._meta.get_field(field_name)  # LookupError / FieldDoesNotExist for a wrong name
    key = (model_label.lower(), field_name)
    existing = _registry.get(key)
    if existing is not None and existing.purpose != purpose:
        raise ValueError(f"{field} is already registered with purpose {existing.purpose!r}.")
    _registry[key] = field


def registered() -> list[EncryptedField]:
    """Every registered column, in registration order."""
    return list(_registry.values())
