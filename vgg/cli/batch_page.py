"""--web for a batch: one page for all its items, fed by the batch's progress records (vgg.batch.progress).

The page lists the items (skipped ones marked), each running, done, failed or interrupted as the batch goes,
and says on its status line how many are done and about how long is left. An item run in this process (a
serial batch) is shown live: its run gets a listener of the page (vgg.cli.page.listener) through the item's
task, and "save now" writes its best image so far with the item's own rules. Items on Dask workers run in other
processes: the page then shows each result as it comes back, and "save now" says why it has nothing to do.
"Stop" is Ctrl-C: no new item starts, the running ones end with their best images so far.
"""

from __future__ import annotations

import _thread
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..batch.progress import DONE, FAILED, INTERRUPTED, RESTARTED, STARTED, BatchProgress
from ..batch.summary import Summary
from ..report.listeners import Listener
from ..style.run import Run
from . import page
from .batch import SKIP, Batch
from .invocation import Invocation
from .results import Writer

ON_WORKERS = "nothing to save here: the items run on workers; each result is written as it comes back"
STATES = {STARTED: "running", RESTARTED: "running", DONE: "done", FAILED: "failed", INTERRUPTED: "interrupted"}


class BatchPage:
    """The page of one batch, on ``server`` (vgg.web.server.PageServer)."""

    def __init__(self, server: Any, batch: Batch) -> None:
        self.server, self.board = server, server.board
        self.index = {it.name: k for k, it in enumerate(batch.items)}
        self.outputs = {it.name: it.invocation.output for it in batch.items}
        self.board.set_items([it.name for it in batch.items])
        for k, it in enumerate(batch.items):
            if it.plan == SKIP:
                self.board.item(k, "skipped", it.note)
        # "stop" is a SIGINT handled in the main thread: the executor's handler while the items run
        self.board.set_stopper(_thread.interrupt_main)
        if batch.options.distributed:
            self.board.save_not_here(ON_WORKERS)
        self.stopping = False

    def progress(self, p: BatchProgress) -> None:
        """A change of the batch: the item's line, and the counts and time left on the status line."""
        if p.item is not None and p.what in STATES:
            note = f"-> {self.outputs[p.item]}" if p.what == DONE else p.detail
            self.board.item(self.index[p.item], STATES[p.what], note)
        if p.what in STATES:
            self.board.set_status("stopping" if self.stopping else "running", status_line(p))

    def stop(self) -> None:
        """The batch is stopping (Ctrl-C, a signal, or "stop" on the page): the page says so from now on."""
        self.stopping = True
        self.board.set_status("stopping", "no new item starts; the running ones end with their best images so far")

    def result(self, name: str, image: np.ndarray) -> None:
        """An item's image came back: the page shows it."""
        self.server.frames.fixed("best", image)
        self.board.frame_changed()

    def listen(self, name: str, inv: Invocation, run: Run, writer: Writer) -> Sequence[Listener]:
        """The live view of item ``name``, run in this process."""
        return [page.listener(self.server, inv, run, writer, item=self.index[name])]

    def ended(self, summary: Summary) -> None:
        self.board.set_status("ended", "; ".join(summary.lines()))


def status_line(p: BatchProgress) -> str:
    """ "3 of 8 done, 1 skipped, 1 failed, 2 running; about 4 min left"."""
    parts = [f"{p.done} of {p.total} done"]
    parts += [f"{n} {what}" for n, what in ((p.skipped, "skipped"), (p.failed, "failed")) if n]
    if p.running:
        parts.append(f"{len(p.running)} running")
    text = ", ".join(parts)
    if p.seconds_left is not None:
        text += f"; about {_duration(p.seconds_left)} left"
    return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
