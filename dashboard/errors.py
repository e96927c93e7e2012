"""The one place that turns Orders API failures into pages (spec/dashboard.md §3): a sentence that says
what failed and what to do, the right status code, never a traceback.

| failure | status | message |
|---|---|---|
| API unreachable | 502 | the Orders API cannot be reached; try again |
| API timeout | 504 | the Orders API did not answer in time; try again |
| key rejected (401/403) | 502 | this store's API key was rejected — an admin must update it |
| rate limited (429) | 429 + Retry-After | too many requests, retry in N s |
| not found (404) | 404 | not found in this store |
| a 2xx the client cannot read (a proxy's HTML page, not the API's JSON or CSV) | 502 | the Orders API failed: it sent an answer the dashboard cannot read |
| API 5xx / anything else | 502 | the Orders API failed; try again |
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.client import ApiBadAnswer, ApiError, ApiTimeout, ApiUnavailable
from secretbox import SecretBoxError

logger = logging.getLogger("dashboard.api")

KEY_REJECTED = "This store's API key was rejected — an admin must update it."


@dataclass(frozen=True)
class FailurePage:
    status: int
    title: str
    message: str
    retry_after: int | None = None


def failure_for(exc: Exception) -> FailurePage:
    if isinstance(exc, SecretBoxError):
        return FailurePage(502, "The store's API key cannot be read", str(exc))
    if isinstance(exc, ApiTimeout):
        return FailurePage(
            504,
            "The Orders API is not answering",
            "The Orders API did not answer in time. Try again in a moment; if it keeps happening, "
            "the API may be overloaded or down.",
        )
    if isinstance(exc, ApiUnavailable):
        return FailurePage(
            502,
            "The Orders API cannot be reached",
            "The dashboard could not connect to the Orders API. Try again in a moment; if it keeps "
            "happening, check that the API is running.",
        )
    if isinstance(exc, ApiBadAnswer):
        # A success status with a body that is not the API's (a proxy's maintenance page, another
        # service at that address): what was sent stays out of the page, it is not the API's to show.
        return FailurePage(
            502,
            "The Orders API failed",
            "The Orders API sent an answer the dashboard cannot read (not the API's JSON or CSV; a proxy "
            "or maintenance page may be in front of it). Try again in a moment; if it keeps happening, "
            "check the store's API base URL and that the API is running"
            f"{f' (request id {exc.request_id})' if exc.request_id else ''}.",
        )
    if not isinstance(exc, ApiError):  # pragma: no cover - api_errors_as_pages catches only these
        raise TypeError(type(exc).__name__)
    if exc.status in {401, 403}:
        return FailurePage(502, "API key rejected", KEY_REJECTED)
    if exc.status == 429:
        wait = exc.retry_after or 60
        return FailurePage(429, "Too many requests", f"Too many requests, retry in {wait} s.", wait)
    if exc.status == 404:
        return FailurePage(404, "Not found", "This was not found in this store. It may have been removed.")
    if exc.status is not None and exc.status < 500:
        return FailurePage(400, "The request was refused", exc.message)
    return FailurePage(
        502,
        "The Orders API failed",
        "The Orders API answered with an error. Try again in a moment; if it keeps happening, "
        f"report request id {exc.request_id or 'unknown'}.",
    )


def render_failure(request: HttpRequest, exc: Exception) -> HttpResponse:
    page = failure_for(exc)
    # What failed, never the key: ApiError messages and request ids carry no credentials.
    logger.warning(
        "Orders API call failed for %s: %s %s (request id %s)",
        request.path,
        getattr(exc, "status", None),
        getattr(exc, "error_code", type(exc).__name__),
        getattr(exc, "request_id", None),
    )
    target = request.htmx.target if getattr(request, "htmx", False) else None  # type: ignore[attr-defined]
    template = "dashboard/_failure.html" if target else "dashboard/failure.html"
    response = render(request, template, {"failure": page, "target": target}, status=page.status)
    if page.retry_after:
        response["Retry-After"] = str(page.retry_after)
    return response


def api_errors_as_pages(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (ApiError, SecretBoxError) as exc:
            return render_failure(request, exc)

    return wrapper
