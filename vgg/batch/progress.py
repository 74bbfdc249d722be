"""The progress of a batch, as one small record after each change, for whatever shows it (the terminal's status
line, a web page): ``BatchProgress``. ``BatchTracker`` keeps the counts and the estimate and makes the records.

The time left is the time so far scaled by the work left: an item counts 1 when it ends (done or interrupted)
and the fraction of its iterations while it runs, so items that run side by side count together; a failed item
counts on neither side (it usually fails before it costs anything).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

START, STARTED, PROGRESS, RESTARTED, DONE, FAILED, INTERRUPTED, END = (
    "start", "started", "progress", "restarted", "done", "failed", "interrupted", "end"
)  # fmt: skip


@dataclass(frozen=True)
class BatchProgress:
    """The batch after one change.

    ``what`` happened (START, STARTED, PROGRESS, RESTARTED: its worker died and it runs again elsewhere, DONE,
    FAILED, INTERRUPTED, END) to ``item`` (its name; None for START and END), with ``detail`` (the worker, or
    a failure's reason). ``total`` items: ``done`` in this batch, ``skipped`` (their outputs were there
    already), ``failed``; ``running``: (name, fraction of its iterations) of each item in progress;
    ``elapsed`` seconds since the batch started; ``seconds_left``: the estimate (None before anything
    could be measured)."""

    what: str
    item: str | None
    total: int
    done: int
    skipped: int
    failed: int
    running: tuple[tuple[str, float], ...]
    elapsed: float
    seconds_left: float | None
    detail: str = ""


class BatchTracker:
    """Counts and the estimate of one batch; each method returns the BatchProgress of its change."""

    def __init__(self, total: int, skipped: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.skipped, self.clock = total, skipped, clock
        self.start = clock()
        self.done = self.failed = self.finished = 0
        self.running: dict[str, float] = {}

    def record(self, what: str, item: str | None = None, detail: str = "") -> BatchProgress:
        """The state now, after ``what`` happened to ``item``."""
        elapsed = self.clock() - self.start
        running = tuple(self.running.items())
        return BatchProgress(what, item, self.total, self.done, self.skipped, self.failed, running, elapsed,
                             self.seconds_left(elapsed), detail)  # fmt: skip

    def seconds_left(self, elapsed: float) -> float | None:
        work = self.total - self.skipped - self.failed  # a failed item is no measure of the others' time
        measured = self.finished - self.failed + sum(self.running.values())
        if measured <= 0 or elapsed <= 0:
            return None
        return max(0.0, elapsed * (work - measured) / measured)

    def started(self, item: str, worker: str, again: bool = False) -> BatchProgress:
        self.running[item] = 0.0
        return self.record(RESTARTED if again else STARTED, item, worker)

    def progressed(self, item: str, done: int, total: int) -> BatchProgress:
        self.running[item] = done / total if total else 0.0
        return self.record(PROGRESS, item)

    def ended(self, item: str, what: str, detail: str = "") -> BatchProgress:
        """``what``: DONE, FAILED or INTERRUPTED."""
        self.running.pop(item, None)
        self.finished += 1
        self.done += what == DONE
        self.failed += what == FAILED
        return self.record(what, item, detail)
