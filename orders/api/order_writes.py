"""Write operations on orders (spec §3.1, §3.5–§3.10). They decorate the orders router."""

from orders.api.orders import router

__all__ = ["router"]
