"""The download's progress on stderr: bytes, percent and rate.

On a terminal one line is redrawn in place (at most 10 times a second) and ended before any message;
elsewhere (a log, a pipe) a plain line is written each time another tenth of the file has arrived, or
every 50 MB when the size is not known.
"""

from __future__ import annotations

import time
from typing import TextIO

BAR = 30
PLAIN_STEP = 50_000_000  # bytes between plain lines when the total size is unknown
REDRAW = 0.1  # seconds between redraws on a terminal


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class Progress:
    """Draws one transfer at a time: begin(), update() per block, end(); note() for messages between."""

    def __init__(self, stream: TextIO, prog: str, tty: bool | None = None) -> None:
        self.stream, self.prog = stream, prog
        self.tty = stream.isatty() if tty is None else tty
        self.total: int | None = None
        self.first, self.step, self.started, self.drawn_at = 0, 0, 0.0, 0.0
        self.drawn = False  # a terminal line is on screen, not yet ended

    def begin(self, done: int, total: int | None) -> None:
        self.first, self.total, self.step = done, total, self._step(done)
        self.started = self.drawn_at = time.monotonic()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.tty and now - self.drawn_at >= REDRAW:
            self._draw(done, now)
        elif not self.tty and self._step(done) > self.step:
            self.step = self._step(done)
            self.stream.write(f"{self.prog}: {self._text(done, now)}\n")
            self.stream.flush()

    def end(self, done: int) -> None:
        if self.tty:
            self._draw(done, time.monotonic())  # the line is ended by the next note()

    def note(self, message: str) -> None:
        self._end_line()
        self.stream.write(f"{self.prog}: {message}\n")
        self.stream.flush()

    def _step(self, done: int) -> int:
        return done * 10 // self.total if self.total else done // PLAIN_STEP

    def _text(self, done: int, now: float) -> str:
        rate = (done - self.first) / max(now - self.started, 1e-6)
        size = f"{_mb(done)} of {_mb(self.total)} ({100 * done // self.total}%)" if self.total else _mb(done)
        return f"{size} at {_mb(int(rate))}/s"

    def _draw(self, done: int, now: float) -> None:
        filled = BAR * done // self.total if self.total else 0
        bar = f"[{'#' * filled}{'.' * (BAR - filled)}] " if self.total else ""
        self.stream.write(f"\r{bar}{self._text(done, now)}\033[K")
        self.stream.flush()
        self.drawn, self.drawn_at = True, now

    def _end_line(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.drawn = False
