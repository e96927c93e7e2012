"""Customer reads (spec §3.3 "also served"). `/by-email/{email}` is registered before `/{customer_id}`."""

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from orders import selectors, serializers
from orders.api import params
from orders.api.common import store_of
from orders.api.openapi import documented, respond
from orders.api.schemas import CustomerEnvelope, CustomerListEnvelope, CustomerListQuery

router = Router(tags=["customers"])


@router.get(
    "",
    operation_id="list_customers",
    summary="List customers",
    description="Newest first. `search` matches part of the email, first or last name.",
    **documented(200, CustomerListEnvelope, "VALIDATION_ERROR"),
)
def list_customers(request: HttpRequest, query: Query[CustomerListQuery]) -> HttpResponse:
    customers, total, capped, has_more = selectors.customer_list(
        store=store_of(request), search=params.customer_search(query), limit=query.limit, offset=query.offset
    )
    return respond(
        {
            "customers": [serializers.customer_detail(c) for c in customers],
            "total": total,
            "totalIsCapped": capped,
            "limit": query.limit,
            "offset": query.offset,
            "hasMore": has_more,
        }
    )


@router.get(
    "/by-email/{email}",
    operation_id="get_customer_by_email",
    summary="Get a customer by email",
    description="Case-insensitive.",
    **documented(200, CustomerEnvelope, "CUSTOMER_NOT_FOUND"),
)
def get_customer_by_email(request: HttpRequest, email: str) -> HttpResponse:
    customer = selectors.customer_get_by_email(store=store_of(request), email=email)
    return respond(serializers.customer_detail(customer))


@router.get(
    "/{customer_id}",
    operation_id="get_customer",
    summary="Get a customer",
    description="By the customer's UUID.",
    **documented(200, CustomerEnvelope, "CUSTOMER_NOT_FOUND"),
)
def get_customer(request: HttpRequest, customer_id: str) -> HttpResponse:
    customer = selectors.customer_get(store=store_of(request), customer_id=customer_id)
    return respond(serializers.customer_detail(customer))
