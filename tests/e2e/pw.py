"""playwright's ``expect`` for the browser tests, imported in one place.

Without the playwright package the browser tests are skipped, except under CI=true, where a
missing package fails the run (a check that is skipped cannot fail).
"""

from __future__ import annotations

import pytest

from tests.conftest import IN_CI

try:
    from playwright.async_api import expect
except ImportError:
    if IN_CI:
        raise
    pytest.skip("the playwright package is missing", allow_module_level=True)

# expect() waits until the page shows what it asserts, and no longer; its default cap of 5 s
# is sized for a quiet machine, not one running other test suites at the same time.
expect.set_options(timeout=30_000)

__all__ = ["expect"]
