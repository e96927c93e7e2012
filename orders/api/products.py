"""Catalogue endpoints under the SDK path (spec §3.3): get one product, sync up to 100."""

from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from pydantic import AfterValidator, field_validator

from orders import errors, selectors, serializers, services
from orders.api.common import store_of
from orders.api.openapi import BODY_ERROR_CODES, documented, respond
from orders.api.schemas import ProductEnvelope, ProductSyncEnvelope

router = Router(tags=["products"])


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it as a field error rather than failing on insert.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class VariantSyncIn(Schema):
    externalVariantId: Text = Field(..., min_length=1, max_length=255)
    sku: Text | None = Field(None, max_length=100)
    name: Text | None = Field(None, max_length=255)
    price: Decimal = Field(..., ge=0, max_digits=12, decimal_places=2)
    inventoryQuantity: int = Field(0, ge=0, le=2_147_483_647)
    trackInventory: bool = False


class ProductSyncItemIn(Schema):
    externalProductId: Text = Field(..., min_length=1, max_length=255)
    name: Text = Field(..., min_length=1, max_length=255)
    variants: list[VariantSyncIn] = Field(default_factory=list, max_length=250)


class ProductSyncIn(Schema):
    products: list[ProductSyncItemIn] = Field(..., description="At most 100.")

    @field_validator("products", mode="before")
    @classmethod
    def at_most_100(cls, value):
        # Checked before the items are validated, so 101 products answer TOO_MANY_PRODUCTS rather than
        # a list of item errors. An ApiError (not a ValueError) passes through pydantic to the handler.
        if isinstance(value, list) and len(value) > services.MAX_PRODUCTS_PER_SYNC:
            raise errors.TooManyProducts(
                f"A sync takes at most {services.MAX_PRODUCTS_PER_SYNC} products; {len(value)} were sent. "
                "Split them into several requests."
            )
        return value


@router.post(
    "/sync",
    operation_id="sync_products",
    summary="Upsert products and variants",
    description=(
        "Creates or updates up to 100 products, matched by externalProductId, with their variants "
        "(matched by externalVariantId, unique in the store). Variants not listed are kept. One "
        "transaction: either every product is saved or none."
    ),
    **documented(200, ProductSyncEnvelope, *BODY_ERROR_CODES, "TOO_MANY_PRODUCTS"),
)
def sync_products(request: HttpRequest, payload: ProductSyncIn) -> HttpResponse:
    result = services.product_sync(
        store=store_of(request),
        products=[
            services.ProductData(
                external_id=p.externalProductId,
                name=p.name,
                variants=[
                    services.VariantData(
                        external_id=v.externalVariantId,
                        price=v.price,
                        sku=v.sku or "",
                        name=v.name or "",
                        inventory_quantity=v.inventoryQuantity,
                        track_inventory=v.trackInventory,
                    )
                    for v in p.variants
                ],
            )
            for p in payload.products
        ],
    )
    return respond(
        {
            "created": result.created,
            "updated": result.updated,
            "products": [serializers.product(p) for p in result.products],
        }
    )


@router.get(
    "/{product_id}",
    operation_id="get_product",
    summary="Get a product",
    description="By the product's UUID or its externalProductId; with its variants.",
    **documented(200, ProductEnvelope, "PRODUCT_NOT_FOUND"),
)
def get_product(request: HttpRequest, product_id: str) -> HttpResponse:
    product = selectors.product_get(store=store_of(request), product_ref=product_id)
    return respond(serializers.product(product))
