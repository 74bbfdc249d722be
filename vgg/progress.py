"""What the loop prints on stderr: the original's lines, exactly, plus an optional progress status.

The original's lines are `Iteration %d/%d` and the four loss lines. The status (a bar with elapsed
and remaining time) is drawn on its own line: on a terminal it is redrawn in place and erased
before the next original line, so the scrollback holds the original's lines only; elsewhere
('always' on a pipe) it is a line of its own after each iteration.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

MODES = ("auto", "always", "never")
LOSS_LABELS = (("content", "  content loss"), ("style", "    style loss"), ("tv", "       tv loss"))


def hms(seconds: float) -> str:
    """'1 hr 2 min', '3 min 4 sec' or '5 sec', as the later original prints times."""
    seconds = int(seconds)
    hours, minutes, secs = seconds // 3600, (seconds // 60) % 60, seconds % 60
    if hours:
        return f"{hours} hr {minutes} min"
    return f"{minutes} min {secs} sec" if minutes else f"{secs} sec"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Reporter:
    """Writes progress to ``stream`` (default stderr); ``mode`` says when to show the status."""

    def __init__(
        self, stream: TextIO | None = None, mode: str = "auto", clock: Callable[[], float] = time.monotonic
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream)
        self.show_status = mode == "always" or (mode == "auto" and self.tty)
        self.clock = clock
        self.start: float | None = None
        self.durations: list[float] = []
        self._iteration_start = 0.0
        self._status_drawn = False

    def _write(self, text: str) -> None:
        if self._status_drawn:
            text = "\r\x1b[K" + text
            self._status_drawn = False
        self.stream.write(text)
        self.stream.flush()

    def iteration(self, i: int, n: int) -> None:
        """`Iteration i+1/n` before the step of 0-based iteration i."""
        self._iteration_start = self.clock()
        if self.start is None:
            self.start = self._iteration_start
        self._write("Iteration %d/%d\n" % (i + 1, n))  # noqa: UP031 - the original's format, kept verbatim

    def losses(self, values: Mapping[str, float]) -> None:
        """The four loss lines, in the original's format."""
        # the original's formats, kept verbatim
        lines = ["%s: %g\n" % (label, values[key]) for key, label in LOSS_LABELS]  # noqa: UP031
        self._write("".join(lines) + "    total loss: %g\n" % values["total"])  # noqa: UP031

    def status(self, i: int, n: int) -> None:
        """After the step of iteration i: elapsed time and an estimate of the time left."""
        now = self.clock()
        self.durations.append(now - self._iteration_start)
        if not self.show_status:
            return
        recent = self.durations[-10:]
        remaining = sum(recent) / len(recent) * (n - i - 1)
        done = (i + 1) * 20 // n
        elapsed = now - (self.start if self.start is not None else now)
        text = f"[{'#' * done}{'.' * (20 - done)}] {i + 1}/{n}, {hms(elapsed)} elapsed, "
        text += f"{hms(remaining)} remaining"
        if self.tty:
            self._write("\r" + text + "\x1b[K")
            self._status_drawn = True
        else:
            self._write(text + "\n")

    def message(self, text: str) -> None:
        """A line of our own (not the original's), e.g. a warning."""
        self._write(text.rstrip("\n") + "\n")

    def close(self) -> None:
        """Erase the status line, if one is drawn."""
        if self._status_drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._status_drawn = False
