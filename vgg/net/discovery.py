"""Where weight files are looked for when only a bare name (or nothing) is given.

The working directory first (where the original expects the file), then this package's cache directory
($XDG_CACHE_HOME/minigrad-style, default ~/.cache/minigrad-style, where python -m vgg.download puts it).
"""

from __future__ import annotations

import os

from .releases import MAT_FILENAME

DEFAULT_NAME = MAT_FILENAME


def cache_dir() -> str:
    """$XDG_CACHE_HOME/minigrad-style, or ~/.cache/minigrad-style (a relative XDG_CACHE_HOME is ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minigrad-style")


def places(name: str) -> list[str]:
    """The paths ``name`` may be: itself when it has a directory in it, else each directory searched."""
    if os.path.dirname(name):
        return [name]
    return [name, os.path.join(cache_dir(), name)]


def find_network(name: str | None = None) -> str | None:
    """NAME (default imagenet-vgg-verydeep-19.mat) where it exists (places()), or None."""
    return next((path for path in places(name or DEFAULT_NAME) if os.path.exists(path)), None)
