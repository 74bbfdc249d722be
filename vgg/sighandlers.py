"""Signal handlers put in place for a block and taken back after it: the one way this package changes them."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping
from typing import Any


@contextlib.contextmanager
def installed(handlers: Mapping[int, Callable[[int, Any], None]]) -> Iterator[dict[int, Any] | None]:
    """Within the block, ``handlers`` ({signal: handler}); yields the handlers there were before, which come back
    after it. Outside the main thread, where Python allows no handler, nothing changes and it yields None."""
    try:
        previous = {s: signal.signal(s, h) for s, h in handlers.items()}
    except ValueError:  # not the main thread
        yield None
        return
    try:
        yield previous
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
