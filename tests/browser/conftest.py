"""Fixtures for the browser tests of the built book: one headless Chromium for the session and
one shared tab (``book``, a :class:`book_browser.BookBrowser`). Both skip, saying why, when
playwright, Chromium or the built book (``make book``) is missing.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from book_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, BookBrowser, why_not_runnable


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium, launched once for the whole session."""
    reason = why_not_runnable()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def book(browser: Any) -> Iterator[BookBrowser]:
    """The tab every page test shares; screenshots go to ``_build/screenshots/``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab = BookBrowser(browser)
    yield tab
    tab.context.close()
