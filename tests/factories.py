"""factory_boy factories for the orders domain. Orders get consistent totals and a `created` history entry
via `make_order` (tests that need a specific shape pass fields explicitly)."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import Customer, HistoryEntry, LineItem, Order, Product, Store, Variant
from orders.statuses import OrderStatus, PaymentStatus


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    currency = "USD"
    timezone = "UTC"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = "Tester"
    phone_number = "+1 555 0100"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    store = factory.SubFactory(StoreFactory)
    external_id = factory.Sequence(lambda n: f"prod_{n}")
    name = factory.Sequence(lambda n: f"Product {n}")


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    store = factory.SelfAttribute("product.store")
    external_id = factory.Sequence(lambda n: f"var_{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    price = Decimal("29.99")
    inventory_quantity = 100
    track_inventory = True


def make_order(
    store: Store,
    *,
    status: str = OrderStatus.CONFIRMED,
    customer: Customer | None = None,
    items: list[tuple[Variant, int]] | None = None,
    created_at=None,
    external_id: str | None = None,
    platform_name: str = "",
    tax: Decimal = Decimal("0.00"),
    shipping: Decimal = Decimal("0.00"),
    discount: Decimal = Decimal("0.00"),
    metadata: dict | None = None,
    history: bool = True,
) -> Order:
    """An order with line items, consistent totals, a sequential number and its `created` history entry."""
    customer = customer or CustomerFactory(store=store)
    if items is None:
        items = [(VariantFactory(product__store=store), 2)]
    created_at = created_at or timezone.now() - timedelta(minutes=1)
    store.last_order_number += 1
    Store.objects.filter(pk=store.pk).update(last_order_number=store.last_order_number)
    subtotal = sum((v.price * q for v, q in items), Decimal("0.00"))
    paid = status != OrderStatus.PENDING
    order = Order.objects.create(
        store=store,
        order_number=store.last_order_number,
        external_id=external_id,
        platform_name=platform_name,
        status=status,
        payment_status=PaymentStatus.PAID if paid else PaymentStatus.UNPAID,
        paid_at=created_at if paid else None,
        customer=customer,
        customer_email=customer.email,
        customer_name=customer.full_name,
        item_count=sum(q for _, q in items),
        subtotal=subtotal,
        tax=tax,
        shipping=shipping,
        discount=discount,
        total=subtotal + tax + shipping - discount,
        currency=store.currency,
        metadata=metadata or {},
        created_at=created_at,
        updated_at=created_at,
    )
    LineItem.objects.bulk_create(
        LineItem(
            order=order,
            product=v.product,
            variant=v,
            external_product_id=v.product.external_id,
            external_variant_id=v.external_id,
            name=v.product.name,
            sku=v.sku,
            quantity=q,
            price=v.price,
            subtotal=v.price * q,
            position=i,
        )
        for i, (v, q) in enumerate(items)
    )
    if history:
        HistoryEntry.objects.create(
            store=store,
            order=order,
            kind=HistoryEntry.Kind.CREATED,
            from_status=None,
            to_status=status,
            changed_at=created_at,
            actor_type=HistoryEntry.ActorType.SYSTEM,
            actor_name="system",
        )
    return order
