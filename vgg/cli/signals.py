"""Signals that end a run keep its work: Ctrl-C, SIGTERM and SIGHUP save the best image so far.

Within ``ending_signals_raise()`` SIGTERM raises Terminated and SIGHUP (a closed terminal, a dropped ssh
session) raises HangUp where the program is, as Ctrl-C raises KeyboardInterrupt; ``interrupted()`` then
saves the best image to the output and gives the exit status (128 + the signal: 130, 143, 129). A second
signal while that image is being saved exits at once. The handlers in place before are restored after.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..sighandlers import installed
from .console import error
from .results import Writer


class Terminated(BaseException):
    """SIGTERM, raised where the program is."""


class HangUp(BaseException):
    """SIGHUP, raised where the program is."""


class _Again(BaseException):
    """A second Ctrl-C, SIGTERM or SIGHUP while the first one's image is being saved."""


EXIT = {KeyboardInterrupt: 130, Terminated: 143, HangUp: 129}  # 128 + SIGINT, SIGTERM, SIGHUP
WORDS = {130: "interrupted", 143: "terminated", 129: "hung up (the terminal closed)"}
_RAISES = {signal.SIGTERM: Terminated, signal.SIGHUP: HangUp}
ENDING = (KeyboardInterrupt, Terminated, HangUp)


def _raiser(kind: type[BaseException]) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        raise kind()

    return handler


@contextlib.contextmanager
def ending_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise (main thread only; elsewhere nothing changes)."""
    with installed({s: _raiser(kind) for s, kind in _RAISES.items()}):
        yield


def exit_status(exc: BaseException) -> int:
    return EXIT.get(type(exc), 130)


def interrupted(exc: BaseException, best: Callable[[], np.ndarray | None], writer: Writer) -> int:
    """After Ctrl-C, SIGTERM or SIGHUP: the best image so far to --output, one line, 130 / 143 / 129."""
    code = exit_status(exc)
    what = WORDS[code]

    def again(signum: int, frame: Any) -> None:
        raise _Again()

    previous = {s: signal.signal(s, again) for s in (signal.SIGINT, *_RAISES)}
    try:
        image = best()
        if image is None:
            error(f"{what} before any image was evaluated; nothing saved")
            return code
        saved = writer.result(image, "the best image so far")
        if saved == writer.output:
            error(f"{what}; saved the best image so far to {saved}")
        return code
    except _Again:
        error(f"{what} again; exiting at once, nothing saved")
        return code
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
