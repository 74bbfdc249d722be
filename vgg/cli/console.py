"""The terminal as the command line uses it: one program name, one-line messages, and a stderr that can die.

A run must never be lost because its terminal went away: stderr piped into ``head``, a pager quit early, a
closed or full stderr, a dropped ssh session. ``guarded_streams()`` makes sure fds 0-2 are open (so no file
the run opens can land on them) and wraps stderr and stdout so that the first failed write marks the stream
dead, points its fd at /dev/null, and every later write is dropped: the run goes on and saves its work.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from ..report.terminal import ERASE

PROG = "stylize"  # the program name every message starts with (setup.cfg's console script has the same)


class SafeStream(io.TextIOBase):
    """A text stream that stops writing, silently, once its underlying stream fails (broken pipe, full disk,
    closed); ``dead`` says whether it has."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.dead = stream is None

    def _die(self) -> None:
        self.dead = True
        with contextlib.suppress(Exception):  # later writes (ours, a library's, the interpreter's at exit) vanish
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.dead:
            try:
                self.stream.write(text)
            except (OSError, ValueError):  # BrokenPipeError, ENOSPC, EIO, a closed file
                self._die()
        return len(text)

    def flush(self) -> None:
        if not self.dead:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self._die()

    def isatty(self) -> bool:
        try:
            return not self.dead and self.stream.isatty()
        except (OSError, ValueError, AttributeError):
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise io.UnsupportedOperation("no underlying stream")
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True


def _open_standard_fds() -> None:
    """Open /dev/null on any of fds 0, 1, 2 that is closed, so that no file opened later takes its number."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:  # the lowest free number is taken: fd, unless a lower one was closed too
                os.dup2(null, fd)
                os.close(null)


@contextlib.contextmanager
def guarded_streams() -> Iterator[None]:
    """Within the block, sys.stderr and sys.stdout are SafeStreams (see the module docstring)."""
    _open_standard_fds()
    saved = sys.stderr, sys.stdout
    sys.stderr, sys.stdout = SafeStream(sys.stderr), SafeStream(sys.stdout)
    try:
        yield
    finally:
        sys.stderr, sys.stdout = saved


def say(kind: str, text: str, stream: Any = None) -> None:
    """One line of ours on stderr ('stylize: error: ...'), below a status line if one is drawn."""
    stream = stream if stream is not None else sys.stderr
    try:
        prefix = ERASE if stream.isatty() else ""
    except (AttributeError, ValueError, OSError):
        prefix = ""
    try:
        stream.write(f"{prefix}{PROG}: {kind}: {text}\n")
        stream.flush()
    except (OSError, ValueError):
        pass  # a dead terminal must not end the run: the work is saved whatever is shown


def error(text: str) -> None:
    say("error", text)


def warning(text: str) -> None:
    say("warning", text)
