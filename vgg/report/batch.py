"""A batch on the terminal and in its log: a status line (items done of all, the items in progress, the time
left) drawn from vgg.batch.progress's records with the batch's own lines written above it; the batch log.

On a terminal the status stays at the bottom, redrawn at each record; each line erases it, is written, and has
it drawn again below. With --progress always on a pipe the status is a line of its own at each start and end of
an item (not at every iteration); with never, or auto off a terminal, there is no status, only the lines.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from ..batch.progress import END, PROGRESS, BatchProgress
from ..batch.summary import DONE, FAILED, INTERRUPTED, NOT_RUN, SKIPPED, ItemOutcome, Summary
from ..files import atomic
from .runlog import machine, versions
from .terminal import ERASE, MODES, hms

BAR = 20


def status_text(p: BatchProgress) -> str:
    """'[####....] 3/8 done, 1 skipped, 1 failed; now IMG_1 40%, IMG_2 5%; 2 min 3 sec left'."""
    finished = p.done + p.skipped + p.failed
    filled = finished * BAR // p.total if p.total else BAR
    text = f"[{'#' * filled}{'.' * (BAR - filled)}] {p.done + p.skipped}/{p.total} done"
    text += "".join(f", {n} {word}" for n, word in ((p.skipped, "skipped"), (p.failed, "failed")) if n)
    if p.running:
        text += "; now " + ", ".join(f"{name} {fraction:.0%}" for name, fraction in p.running)
    if p.seconds_left is not None:
        text += f"; {hms(p.seconds_left)} left"
    return text


class BatchView:
    """The status line and the batch's lines on ``stream`` (default stderr); ``mode``: --progress."""

    def __init__(self, stream: TextIO | None = None, mode: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.tty = bool(self.stream.isatty())
        except (AttributeError, ValueError, OSError):
            self.tty = False
        self.show = mode == "always" or (mode == "auto" and self.tty)
        self.status = ""

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a terminal that went away: the batch goes on

    def line(self, text: str) -> None:
        """One line of the batch's, above the status."""
        drawn = f"\r{self.status}\x1b[K" if self.status else ""
        self._write((ERASE if self.status else "") + text + "\n" + drawn)

    def update(self, progress: BatchProgress) -> None:
        if not self.show:
            return
        text = status_text(progress)
        if self.tty:
            text = text[: max(20, shutil.get_terminal_size().columns - 1)]  # a wrapped line is not redrawn in place
            self.status = text
            self._write(f"\r{text}\x1b[K")
        elif progress.what not in (PROGRESS, END):
            self._write(text + "\n")

    def close(self) -> None:
        if self.status:
            self._write(ERASE)
            self.status = ""


BATCH_START = "batch start"


def is_batch_log(path: str) -> bool:
    """Whether ``path`` is a batch log (its first line is a batch's start line): a re-run appends to it."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.loads(f.readline()).get("event") == BATCH_START
    except (OSError, ValueError, AttributeError):
        return False


class BatchLog:
    """--log without {name} in a batch: JSON lines, a start line (the settings, the items, where they run, the
    versions and the machine), one line per item as it ends (its status, worker, seconds and reason) and an end
    line with the counts. A batch log that is there already is appended to (a re-run after an interruption)."""

    def __init__(self, path: str, head: Mapping[str, Any], backend: str, overwrite: bool) -> None:
        self.file = atomic.open_stream(path, overwrite, append=is_batch_log(path))
        self.start = time.monotonic()
        self.line({"event": BATCH_START, **head, "versions": versions(), "machine": machine(backend)})

    def line(self, record: Mapping[str, Any]) -> None:
        self.file.write(json.dumps(record, sort_keys=True) + "\n")
        self.file.flush()

    def item(self, outcome: ItemOutcome, **extra: Any) -> None:
        record = {"event": "item", "item": outcome.name, "status": outcome.status, "worker": outcome.worker}
        self.line({**record, "seconds": outcome.seconds, "reason": outcome.reason, **extra})

    def end(self, summary: Summary) -> None:
        counts = {status: summary.count(status) for status in (DONE, SKIPPED, FAILED, INTERRUPTED, NOT_RUN)}
        self.line({"event": "batch end", **counts, "lost": summary.lost, "seconds": time.monotonic() - self.start})

    def close(self) -> None:
        self.file.close()
