"""Browser fixtures shared by the page tests: one headless Chromium per module.

``chromium`` comes first in every server fixture of a browser test, so a machine without Chromium
skips (or, in CI, fails) before any server starts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.backends import CHROMIUM_ENV, backend_url

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    return backend_url(CHROMIUM_ENV)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield launched
        launched.close()
