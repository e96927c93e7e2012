"""Small pieces every router uses: the request's store and acting party, the camelCase schema base."""

from django.http import HttpRequest
from ninja import Schema
from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from orders import errors
from orders.actors import Actor
from orders.errors import FieldError
from orders.models import ApiKey, HistoryEntry, Store

MAX_ON_BEHALF_OF = 150


class CamelSchema(Schema):
    """Input and output schemas: snake_case in Python, camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def api_key_of(request: HttpRequest) -> ApiKey:
    return request.auth  # type: ignore[attr-defined,return-value]


def store_of(request: HttpRequest) -> Store:
    return api_key_of(request).store


def actor_of(request: HttpRequest) -> Actor:
    """The key, or the person named in `X-On-Behalf-Of` acting through it (the dashboard sets it)."""
    api_key = api_key_of(request)
    on_behalf_of = request.headers.get("X-On-Behalf-Of", "").strip()
    if len(on_behalf_of) > MAX_ON_BEHALF_OF:
        raise errors.ValidationFailed(
            errors=[FieldError("X-On-Behalf-Of", f"At most {MAX_ON_BEHALF_OF} characters.")]
        )
    if on_behalf_of:
        return Actor(type=HistoryEntry.ActorType.USER, name=on_behalf_of, api_key_prefix=api_key.prefix)
    return Actor(type=HistoryEntry.ActorType.API_KEY, name=api_key.name, api_key_prefix=api_key.prefix)
