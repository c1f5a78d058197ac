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


#: A fake camera and microphone, and no permission prompt: a module sets ``BROWSER_ARGS`` to these.
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def browser(chromium: str, request: pytest.FixtureRequest) -> Iterator[Browser]:
    """The module's Chromium, with the module's own ``BROWSER_ARGS`` (if any) after ours."""
    extra: list[str] = getattr(request.module, "BROWSER_ARGS", [])
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=[*LAUNCH_ARGS, *extra])
        yield launched
        launched.close()
