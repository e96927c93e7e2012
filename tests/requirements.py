"""What the tests need from the machine, and what happens when a part is missing.

On a developer's laptop a missing part (PostgreSQL, Redis, Chromium) skips the tests that need it, with
the reason. In CI (`.ci/run` sets TESTS_REQUIRE_ALL=1) it fails them instead: a green run must mean
every test ran.
"""

import os

import pytest

REQUIRE_ALL = os.environ.get("TESTS_REQUIRE_ALL") == "1"
MISSING_PART = pytest.StashKey[str]()


def skip_or_fail(reason: str) -> None:
    """Inside a test or fixture: skip on a laptop, fail in CI."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (TESTS_REQUIRE_ALL=1: CI runs every test)", pytrace=False)
    pytest.skip(reason)


def mark_missing(items, keyword: str, reason: str) -> None:
    """At collection: the tests marked `keyword` cannot run here."""
    for item in items:
        if keyword in item.keywords:
            if REQUIRE_ALL:
                item.stash[MISSING_PART] = reason
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


def fail_missing_parts(item) -> None:
    """Called from the root conftest's `pytest_runtest_setup`."""
    reason = item.stash.get(MISSING_PART, None)
    if reason is not None:
        pytest.fail(f"{reason} (TESTS_REQUIRE_ALL=1: CI runs every test)", pytrace=False)
