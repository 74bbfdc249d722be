"""What a run prints on stderr: the original's lines exactly (docs/REFERENCE.md section 3), and an optional status.

The original's lines are `Iteration %d/%d` and the four loss lines. The status (a bar with elapsed
and remaining time) is drawn on its own line: on a terminal it stays at the bottom, visible while
the next step runs; each original line erases it, is written, and has it drawn again below, so the
scrollback holds the original's lines only; close() erases it. Elsewhere ('always' on a pipe) it is
a line of its own after each iteration.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from ..style.loop import Event, IterationDone, IterationStarted
from .listeners import Listener

MODES = ("auto", "always", "never")  # the one table of --progress values
ERASE = "\r\x1b[K"  # carriage return, then erase to the end of the line
LABEL_WIDTH = 14  # the original right-aligns "content loss", "style loss", "tv loss", "total loss" to this


def hms(seconds: float) -> str:
    """'1 hr 2 min', '3 min 4 sec' or '5 sec', as the later original prints times (docs/REFERENCE.md section 3)."""
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
        self._status = ""  # the status line drawn at the bottom of a terminal ('' when none)

    def _write(self, text: str) -> None:
        """Original lines: on a terminal the status is erased first and drawn again below them."""
        if self._status:
            text = ERASE + text + self._drawn(self._status)
        self.stream.write(text)
        self.stream.flush()

    @staticmethod
    def _drawn(status: str) -> str:
        return "\r" + status + "\x1b[K"

    def iteration(self, i: int, n: int) -> None:
        """`Iteration i+1/n` before the step of 0-based iteration i."""
        self._iteration_start = self.clock()
        if self.start is None:
            self.start = self._iteration_start
        self._write("Iteration %d/%d\n" % (i + 1, n))  # noqa: UP031 - the original's format, kept verbatim

    def losses(self, values: Mapping[str, float]) -> None:
        """The loss lines, in the original's format ("  content loss: %g" ... "    total loss: %g"): the four of
        TERMS, and the extra terms of a run that has them (before the total, as the loop reads them back)."""
        lines = ["%s: %g\n" % (f"{term} loss".rjust(LABEL_WIDTH), value) for term, value in values.items()]  # noqa: UP031
        self._write("".join(lines))

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
            self._status = text
            self.stream.write(self._drawn(text))  # in place of the one drawn before
            self.stream.flush()
        else:
            self._write(text + "\n")

    def close(self) -> None:
        """Erase the status line, if one is drawn."""
        if self._status:
            self.stream.write(ERASE)
            self.stream.flush()
            self._status = ""


class ProgressListener(Listener):
    """The original's lines (`Iteration i+1/n`, the four losses) and the status line, on a stream."""

    def __init__(self, stream: TextIO | None = None, mode: str = "auto") -> None:
        self.reporter = Reporter(stream, mode)

    def on(self, event: Event) -> None:
        if isinstance(event, IterationStarted):
            self.reporter.iteration(event.i, event.n)
            if event.losses is not None:
                self.reporter.losses(event.losses)
        elif isinstance(event, IterationDone):
            self.reporter.status(event.i, event.n)

    def close(self) -> None:
        self.reporter.close()
