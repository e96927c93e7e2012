"""Who made a change: recorded in history (`actor_*` columns) and in a webhook's `data.source`.

The HTTP layer builds an `Actor` from the API key and `X-On-Behalf-Of` (`actor_of` in the API package); background
work (refund processing, commands) acts as `SYSTEM_ACTOR`.
"""

from dataclasses import dataclass

from orders.models import HistoryEntry


@dataclass(frozen=True)
class Actor:
    type: str  # HistoryEntry.ActorType
    name: str
    api_key_prefix: str = ""

    def as_source(self) -> dict:
        return {"type": self.type, "name": self.name, "apiKeyPrefix": self.api_key_prefix or None}


SYSTEM_ACTOR = Actor(type=HistoryEntry.ActorType.SYSTEM, name="system")
