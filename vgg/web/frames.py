"""The run's own images as a page fetches them: JPEG, encoded in the server's thread when a page asks.

The best image so far is a *live* image: its source (``Run.best_image``) is called and encoded only when a
page asks for a newer version than the one encoded, and at most every ``FRAME_INTERVAL`` seconds whatever
the number of pages (one encoding at a time; the others are served the last one). The inputs and the final
image are *fixed*: encoded once. Nothing else can be fetched: the names are the ones registered here.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..style.pixels import to_uint8

FRAME_INTERVAL = 0.5  # seconds between two encodings of the live image
THUMBNAIL = 256  # the longer side of an input's picture on the page
MAX_FRAME_SIDE = 2048  # a larger result is shown reduced by a whole factor (cheap, and the page scales it anyway)
QUALITY = 90


def encode(image: np.ndarray, max_side: int) -> bytes:
    """RGB 0..255 floats as a JPEG, its longer side at most ``max_side`` (fixed: resampled; live: reduced)."""
    img = Image.fromarray(to_uint8(image)).convert("RGB")
    factor = math.ceil(max(img.size) / max_side)
    if max_side == THUMBNAIL:
        img.thumbnail((max_side, max_side))
    elif factor > 1:
        img = img.reduce(factor)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=QUALITY)
    return out.getvalue()


@dataclass
class _Entry:
    source: Callable[[], np.ndarray | None]
    live: bool
    max_side: int
    data: bytes | None = None
    version: int = -1
    at: float = -math.inf


class Frames:
    """The images a page may fetch, by name."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self.clock = clock
        self.encoded = 0  # encodings done, for the tests

    def live(self, name: str, source: Callable[[], np.ndarray | None]) -> None:
        """An image that changes (``source()`` gives it now, or None when there is none yet)."""
        with self._lock:
            self._entries[name] = _Entry(source, True, MAX_FRAME_SIDE)

    def fixed(self, name: str, image: np.ndarray | None, thumbnail: bool = False) -> None:
        """An image that does not change (an input: shown as a thumbnail; the final image)."""
        if image is None:
            return
        with self._lock:
            self._entries[name] = _Entry(lambda: image, False, THUMBNAIL if thumbnail else MAX_FRAME_SIDE)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def jpeg(self, name: str, version: int = 0) -> tuple[bytes, int] | None:
        """The image ``name`` as a JPEG and the version it shows; None if there is no such image (yet).
        ``version``: the newest the page knows of; a live image is encoded again for it unless it was encoded
        less than FRAME_INTERVAL ago (then the last one is served, with its older version)."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            now = self.clock()
            if entry.data is not None and not entry.live:
                return entry.data, version  # the same image, whichever version is asked for
            if entry.data is not None and (entry.version >= version or now - entry.at < FRAME_INTERVAL):
                return entry.data, entry.version
            image = entry.source()
            if image is None:
                return None if entry.data is None else (entry.data, entry.version)
            entry.data, entry.version, entry.at = encode(image, entry.max_side), version, now
            self.encoded += 1
            return entry.data, entry.version
