"""Headless Chromium from the system's packages, driven by Playwright (never Playwright's own browser download).

``chromium()`` is the browser's path, or None; ``open_browser(folder)`` a fresh persistent context (its profile
in ``folder``) as a context manager. On Debian: ``apt-get install chromium`` and ``pip install playwright``
(the test extra); .ci/run installs both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def chromium() -> str | None:
    found = os.environ.get("CHROMIUM") or next((p for p in map(shutil.which, CANDIDATES) if p), None)
    return found if found and os.access(found, os.X_OK) else None


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if chromium() is None:
        return "no Chromium found (apt-get install chromium; or set CHROMIUM=/path/to/it)"
    return None


@contextlib.contextmanager
def open_browser(folder: str, width: int = 1200, height: int = 800) -> Iterator[Any]:
    """A Playwright browser context on the system's Chromium, headless, its profile in ``folder``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            folder, executable_path=chromium(), args=ARGS, headless=True, viewport={"width": width, "height": height}
        )
        try:
            yield context
        finally:
            context.close()
