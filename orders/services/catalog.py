"""Catalogue writes: the products sync (POST /api/v1/sdk/products/sync, spec §3.3).

Products and variants are upserted by their external IDs, which are unique per store. A variant named
in the sync but attached to another product of the store moves to the product it is listed under (the
platform is the source of truth). Variants not named are kept: past orders point at them.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from orders import errors
from orders.errors import FieldError
from orders.models import Product, Store, Variant
from orders.selectors import product_queryset

MAX_PRODUCTS_PER_SYNC = 100


@dataclass(frozen=True)
class VariantData:
    external_id: str
    price: Decimal
    sku: str = ""
    name: str = ""
    inventory_quantity: int = 0
    track_inventory: bool = False


@dataclass(frozen=True)
class ProductData:
    external_id: str
    name: str
    variants: list[VariantData] = field(default_factory=list)


@dataclass
class SyncResult:
    created: int
    updated: int
    products: list[Product]  # in the order they were sent, variants prefetched


def _reject_duplicates(products: list[ProductData]) -> None:
    """The same external ID twice in one sync is ambiguous (which one wins?): name every repeat."""
    problems: list[FieldError] = []
    seen_products: set[str] = set()
    seen_variants: set[str] = set()
    for i, product in enumerate(products):
        if product.external_id in seen_products:
            problems.append(
                FieldError(
                    f"products[{i}].externalProductId", "This externalProductId appears twice in the sync."
                )
            )
        seen_products.add(product.external_id)
        for j, variant in enumerate(product.variants):
            if variant.external_id in seen_variants:
                problems.append(
                    FieldError(
                        f"products[{i}].variants[{j}].externalVariantId",
                        "This externalVariantId appears twice in the sync.",
                    )
                )
            seen_variants.add(variant.external_id)
    if problems:
        raise errors.ValidationFailed("Each product and variant may appear once per sync.", errors=problems)


def product_sync(*, store: Store, products: list[ProductData]) -> SyncResult:
    """Upsert up to 100 products with their variants in one transaction.

    Raises TooManyProducts (>100) and ValidationFailed (duplicate external IDs). Concurrent syncs of
    one store are serialised on the store row, so two syncs creating the same product cannot collide
    on the unique constraint. A constant number of queries, whatever the number of products.
    """
    if len(products) > MAX_PRODUCTS_PER_SYNC:
        raise errors.TooManyProducts(
            f"A sync takes at most {MAX_PRODUCTS_PER_SYNC} products; {len(products)} were sent. "
            "Split them into several requests."
        )
    _reject_duplicates(products)
    now = timezone.now()
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).values_list("pk", flat=True).get()
        existing = {
            p.external_id: p
            for p in Product.objects.filter(store=store, external_id__in=[p.external_id for p in products])
        }
        to_create: list[Product] = []
        to_update: list[Product] = []
        by_external_id: dict[str, Product] = {}
        for data in products:
            product = existing.get(data.external_id)
            if product is None:
                product = Product(store=store, external_id=data.external_id, name=data.name)
                to_create.append(product)
            else:
                product.name = data.name
                product.updated_at = now
                to_update.append(product)
            by_external_id[data.external_id] = product
        Product.objects.bulk_create(to_create)
        Product.objects.bulk_update(to_update, ["name", "updated_at"])
        _sync_variants(store=store, products=products, by_external_id=by_external_id, now=now)
    ids = [by_external_id[p.external_id].pk for p in products]
    loaded = {p.pk: p for p in product_queryset(store=store).filter(pk__in=ids)}
    return SyncResult(created=len(to_create), updated=len(to_update), products=[loaded[pk] for pk in ids])


def _sync_variants(
    *, store: Store, products: list[ProductData], by_external_id: dict[str, Product], now
) -> None:
    wanted = [(data, v) for data in products for v in data.variants]
    existing = {
        v.external_id: v
        for v in Variant.objects.filter(store=store, external_id__in=[v.external_id for _, v in wanted])
    }
    to_create: list[Variant] = []
    to_update: list[Variant] = []
    for product_data, data in wanted:
        product = by_external_id[product_data.external_id]
        variant = existing.get(data.external_id) or Variant(store=store, external_id=data.external_id)
        variant.product = product
        variant.sku = data.sku
        variant.name = data.name
        variant.price = data.price
        variant.inventory_quantity = data.inventory_quantity
        variant.track_inventory = data.track_inventory
        if variant._state.adding:
            to_create.append(variant)
        else:
            variant.updated_at = now
            to_update.append(variant)
    Variant.objects.bulk_create(to_create)
    Variant.objects.bulk_update(
        to_update,
        ["product", "sku", "name", "price", "inventory_quantity", "track_inventory", "updated_at"],
    )
