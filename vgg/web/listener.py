"""A run's events on its page: the listener that feeds a Board (vgg.web.board) from the loop (vgg.style.loop).

It runs in the loop's thread and does only what costs nothing there: it publishes small messages and marks
the best image as changed; the page's server calls ``Run.best_image`` and encodes it, in its own thread and
only when a page asks (vgg.web.frames). Two requests of the page are carried out here, between iterations:
"save now" (``save(i, image)``: the best image so far after iteration ``i``, the last one done) and "stop"
when the process ignores SIGINT (see ``ctrl_c``); otherwise "stop" is Ctrl-C itself.
"""

from __future__ import annotations

import _thread
import collections
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..report.listeners import Listener
from ..style.loop import End, Event, IterationDone, IterationStarted, LossesRead
from ..style.run import Run
from .board import Board
from .frames import Frames

RECENT = 10  # iterations the time left is estimated from


def ctrl_c() -> Callable[[], None] | None:
    """What "stop" calls, in the server's thread, to end the run exactly as Ctrl-C does: SIGINT's handler run in
    the main thread (``_thread.interrupt_main``) where Python handles SIGINT; None where SIGINT is ignored
    (a background job of a shell script), which interrupt_main would ignore too: the listener then raises
    KeyboardInterrupt itself, in the loop's thread, at the next event. Call it in the main thread."""
    return _thread.interrupt_main if callable(signal.getsignal(signal.SIGINT)) else None


def run_inputs(run: Run, content: str, styles: Sequence[str], initial: str | None) -> list[tuple[str, str, Any]]:
    """(label, file, image as the run uses it) of each input of ``run``, for the page's thumbnails."""
    out: list[tuple[str, str, Any]] = [("content", content, run.content)]
    out += [(f"style {k + 1}", path, image) for k, (path, image) in enumerate(zip(styles, run.styles))]
    if initial is not None:
        out.append(("initial", initial, run.initial))
    return out


class WebListener(Listener):
    """Feeds ``board`` and ``frames`` from one run (a batch makes one per item, with ``item`` its index)."""

    def __init__(
        self,
        board: Board,
        frames: Frames,
        run: Run,
        settings: Mapping[str, Any],
        inputs: Sequence[tuple[str, str, Any]],
        save: Callable[[int, np.ndarray], str] | None = None,
        item: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board, self.frames, self.run, self.save, self.clock = board, frames, run, save, clock
        self.stages, self.stage = len(run.schedule.bounds), 0
        self.start = self.last = clock()
        self.durations: collections.deque[float] = collections.deque(maxlen=RECENT)
        self.ended = False
        frames.live("best", run.best_image)
        shown = []
        for k, (label, path, image) in enumerate(inputs):
            frames.fixed(f"input-{k}", image, thumbnail=True)
            shown.append({"name": label, "file": path, "image": None if image is None else f"input-{k}"})
        scales = list(run.config.scales) if run.config.scales else None
        info = {"n": run.schedule.n, "scales": scales, "settings": _plain(settings), "inputs": shown, "item": item}
        board.publish("run", info)
        board.set_status("running")

    def on(self, event: Event) -> None:
        board = self.board
        if board.stop_wanted and not board.interrupts:
            raise KeyboardInterrupt()  # "stop" where SIGINT is ignored: raised where Ctrl-C would be
        if isinstance(event, LossesRead):
            self.stage = event.stage
            board.publish("losses", {"i": event.i, "stage": event.stage, "losses": dict(event.losses)})
            board.frame_changed()
        elif isinstance(event, IterationStarted):
            if event.i > 0 and self.save is not None and board.take_save():
                self._save(event.i - 1)
        elif isinstance(event, IterationDone):
            self._progress(event.i, event.n)
        elif isinstance(event, End):
            self.ended = True
            self.frames.fixed("best", event.image)
            board.frame_changed()
            board.set_status("finishing", "saving the result")

    def _progress(self, i: int, n: int) -> None:
        now = self.clock()
        self.durations.append(now - self.last)
        self.last = now
        left = sum(self.durations) / len(self.durations) * (n - i - 1)
        self.board.publish(
            "progress",
            {"i": i + 1, "n": n, "stage": self.stage, "stages": self.stages, "elapsed": now - self.start, "left": left},
        )

    def _save(self, i: int) -> None:
        image = self.run.best_image()
        if image is None:
            self.board.note("nothing to save yet")
            return
        self.board.note(self.save(i, image))

    def failed(self) -> None:
        self.board.note("the loss is no longer finite: the run ends")

    def close(self) -> None:
        """However the run ended: the page's image becomes the one the run ends with (the best so far when it
        was stopped or failed)."""
        if not self.ended:
            self.frames.fixed("best", self.run.best_image())
            self.board.frame_changed()


def _plain(settings: Mapping[str, Any]) -> dict[str, str]:
    """Settings as the page shows them: given ones only, each value as text."""
    shown = {}
    for name, value in settings.items():
        if value is None or value is False:
            continue
        shown[name] = " ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return shown
