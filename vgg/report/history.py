"""The loss history of a run, for --progress-write (a tab-separated file) and --progress-plot (a chart).

The loop records the four losses wherever it reads them back anyway (every iteration on the CPU,
every few on a GPU); ``iteration`` i is the image iteration i starts from, i.e. after i optimiser
steps (0: the starting image), as in vgg.style.loop, so the losses printed under `Iteration k/n` are on
row k - 1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from ..files import atomic
from ..files.images import save_pil_image
from ..style.loop import Checkpoint, End, Event, LossesRead
from ..style.losses import TERMS
from .listeners import Listener
from .plot import draw_losses

COLUMNS = TERMS  # a run's columns: these, or the terms its first read-back holds (extra terms before total)
HEADER = "\t".join(("iteration", *COLUMNS))


def _write_line(f: TextIO, text: str) -> None:
    f.write(text + "\n")
    f.flush()  # so that `tail -f` shows each line as it comes


class History:
    """Losses by iteration; streamed to ``write`` as they come and drawn to ``plot`` on ``save_plot()``.

    With neither file it records nothing, and the loop reads back no more values than it would.
    """

    def __init__(
        self,
        write: str | os.PathLike | None = None,
        plot: str | os.PathLike | None = None,
        overwrite: bool = True,
        append: bool = False,
    ) -> None:
        self.steps: list[int] = []
        self.losses: dict[str, list[float]] = {}  # the columns, as the first record names them
        self.plot_path = plot
        self._file: TextIO | None = None
        if write is not None:
            # append: a resumed run goes on with the rows of the run it continues (a header only if empty)
            self._file = atomic.open_stream(os.fspath(write), overwrite, append)
        self._header = self._file is not None and self._file.tell() == 0

    @property
    def enabled(self) -> bool:
        return self._file is not None or self.plot_path is not None

    def record(self, step: int, values: Mapping[str, float]) -> None:
        """The losses after ``step`` optimiser steps ({term: value}: the same terms every time, the first record's
        are the columns); a no-op when disabled."""
        if not self.enabled:
            return
        if not self.losses:
            self.losses = {name: [] for name in values}
            if self._header:
                _write_line(self._file, "\t".join(("iteration", *self.losses)))
        self.steps.append(step)
        for name, column in self.losses.items():
            column.append(float(values[name]))
        if self._file is not None:
            _write_line(self._file, "\t".join([str(step), *(repr(c[-1]) for c in self.losses.values())]))

    def save_plot(self) -> None:
        """(Re)draw the chart of everything recorded so far, written atomically; a no-op without a plot file."""
        if self.plot_path is not None:
            save_pil_image(self.plot_path, draw_losses(self.steps, self.losses))

    def close(self) -> None:
        if self._file is not None:
            if self._header and not self.losses:  # nothing recorded: the file still says what it would hold
                _write_line(self._file, HEADER)
            self._file.close()
            self._file = None


class HistoryListener(Listener):
    """The losses at each read-back to a tab-separated file and a chart (vgg.report.history); opened lazily."""

    def __init__(self, write: str | None, plot: str | None, overwrite: bool = True, append: bool = False) -> None:
        self.write, self.plot, self.overwrite, self.append = write, plot, overwrite, append
        self.history: History | None = None

    def on(self, event: Event) -> None:
        if self.write is None and self.plot is None:
            return
        if self.history is None:
            self.history = History(self.write, self.plot, self.overwrite, self.append)
        if isinstance(event, LossesRead):
            self.history.record(event.i, event.losses)
        elif isinstance(event, Checkpoint | End):
            self.history.save_plot()

    def failed(self) -> None:
        if self.history is not None:
            self.history.save_plot()  # the history up to the bad value, beside the best finite image

    def close(self) -> None:
        if self.history is not None:
            self.history.close()
