"""What listens to the loop's events (vgg.driver): the progress lines and the loss history.

A listener has ``on(event)``, ``failed()`` (the loss stopped being finite) and ``close()``;
``broadcast`` hands each event to every listener before passing it on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TextIO

from .config import StyleConfig
from .driver import Checkpoint, End, Event, IterationDone, IterationStarted, LossesRead
from .errors import LossNotFiniteError
from .history import COLUMNS, History
from .progress import Reporter


class Listener:
    def on(self, event: Event) -> None:
        pass

    def failed(self) -> None:
        pass

    def close(self) -> None:
        pass


def broadcast(events: Iterator[Event], listeners: Sequence[Listener]) -> Iterator[Event]:
    """``events``, each seen by every listener first; listeners are closed however the run ends."""
    try:
        for event in events:
            for listener in listeners:
                listener.on(event)
            yield event
    except LossNotFiniteError:
        for listener in listeners:
            listener.failed()
        raise
    finally:
        for listener in listeners:
            listener.close()


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


class HistoryListener(Listener):
    """The losses at each read-back to a tab-separated file and a chart (vgg.history); opened lazily."""

    def __init__(self, write: str | None, plot: str | None, overwrite: bool = True, append: bool = False) -> None:
        self.write, self.plot, self.overwrite, self.append = write, plot, overwrite, append
        self.history: History | None = None

    @classmethod
    def of(cls, config: StyleConfig) -> HistoryListener:
        return cls(config.progress_write, config.progress_plot)

    def on(self, event: Event) -> None:
        if self.write is None and self.plot is None:
            return
        if self.history is None:
            self.history = History(self.write, self.plot, self.overwrite, self.append)
        if isinstance(event, LossesRead):
            self.history.record(event.i, {name: event.losses[name] for name in COLUMNS})
        elif isinstance(event, Checkpoint | End):
            self.history.save_plot()

    def failed(self) -> None:
        if self.history is not None:
            self.history.save_plot()  # the history up to the bad value, beside the best finite image

    def close(self) -> None:
        if self.history is not None:
            self.history.close()
