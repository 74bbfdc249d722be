"""Where weight files are looked for when only a bare name (or nothing) is given.

The places, in order: the working directory (where the original expects the file); this package's cache
directory ($XDG_CACHE_HOME/minigrad-style, default ~/.cache/minigrad-style, where python -m vgg.download
puts it); Keras's ($KERAS_HOME/models, default ~/.keras/models, where keras.applications.VGG19 keeps
its download); and ./models, where jcjohnson/neural-style's models/download_models.sh puts Oxford's
.caffemodel. With no name, each place is searched for each known file name (releases.DEFAULT_NAMES)
before the next place.
"""

from __future__ import annotations

import os

from .releases import DEFAULT_NAMES


def cache_dir() -> str:
    """$XDG_CACHE_HOME/minigrad-style, or ~/.cache/minigrad-style (a relative XDG_CACHE_HOME is ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minigrad-style")


def keras_dir() -> str:
    """Where Keras keeps downloaded weights: $KERAS_HOME/models, or ~/.keras/models."""
    return os.path.join(os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras"), "models")


def directories() -> list[str]:
    """The places searched, in order ('' is the working directory)."""
    return ["", cache_dir(), keras_dir(), "models"]


def describe_places() -> str:
    """The places, for messages."""
    return f"the working directory, {cache_dir()}, {keras_dir()} or ./models"


def places(name: str) -> list[str]:
    """The paths ``name`` may be: itself when it has a directory in it, else in each directory searched."""
    if os.path.dirname(name):
        return [name]
    return [os.path.join(d, name) if d else name for d in directories()]


def find_network(name: str | None = None) -> str | None:
    """NAME where it exists (places()); with no NAME, the first known file name found, place by place; or None."""
    if name is not None:
        return next((path for path in places(name) if os.path.exists(path)), None)
    for directory in directories():
        for known in DEFAULT_NAMES:
            path = os.path.join(directory, known) if directory else known
            if os.path.exists(path):
                return path
    return None
