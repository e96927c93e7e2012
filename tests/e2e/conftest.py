"""Browser tests: Playwright (Python) driving Debian's Chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest
from django.core.servers.basehttp import WSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread

from tests import requirements

ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed only on request (`make screenshots`); ordinary runs write theirs
# under var/ so a test run never dirties the working tree.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else ROOT / "var" / "screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium`"
        requirements.mark_missing(items, "browser", reason)


class _SerialWSGIServer(WSGIServer):
    """The live server, one request at a time (Django closes each answer's connection when unthreaded)."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections_override = connections_override


@pytest.fixture(scope="session", autouse=True)
def serial_live_server_on_in_memory_sqlite():
    """With an in-memory SQLite database the live server's request threads all share the test's one
    connection; two requests at once (an HTMX search still in flight when the export link is clicked)
    then read through one sqlite3 connection concurrently, and a query can come back empty — seen as a
    401 for a valid key. Serve one request at a time there; PostgreSQL keeps the threaded server."""
    if connection.vendor != "sqlite":
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LiveServerThread, "server_class", _SerialWSGIServer)
        yield


@pytest.fixture(scope="module", autouse=True)
def allow_orm_next_to_playwright():
    """Playwright's sync API keeps an event loop in the test thread, so Django would refuse the tests'
    ORM calls ("SynchronousOnlyOperation"). Allowed only while browser tests run: set process-wide, it
    would leak into other tests (and `check --deploy` rightly refuses it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(allow_orm_next_to_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on(
        "console", lambda msg: errors.append(f"{msg.text} @ {msg.location}") if msg.type == "error" else None
    )
    page.console_errors = errors
    yield page
    context.close()
