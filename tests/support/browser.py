"""A real headless Chromium for tests that look at pages as a person would.

Playwright's Python package drives Debian's Chromium (``/usr/bin/chromium``; never a
browser Playwright downloads). On a laptop without them the tests skip and say how to get
them; under CI (``CI=true``) a missing browser is a failure, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
HOW_TO_ENABLE = "install Debian's chromium (apt-get install chromium) and pip install playwright"


def _unavailable(reason: str) -> None:
    message = f"{reason}: {HOW_TO_ENABLE}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module (started before any test's child-process check).

    Not per session: Playwright's sync API runs an event loop of its own while it lives,
    which would break the pytest-asyncio tests that run after the browser tests.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A fresh page in its own browser context; ``page.screenshot_dir`` is under tmp_path."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    new_page = context.new_page()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    new_page.screenshot_dir = shots  # type: ignore[attr-defined]
    try:
        yield new_page
    finally:
        context.close()
