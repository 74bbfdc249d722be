"""Writing what a run makes without losing it: a failed write never loses the image made so far.

- ``Writer``: checkpoints (a failed one is reported once and the run goes on), the result
  (atomic; without --overwrite never over a file that appeared meanwhile; if it cannot be written,
  the image is saved under a fallback name that the message gives), and the page's "save now"
  (``snapshot``: a new file, never over any that is there).
- ``Guarded``: a listener that writes a file (loss file, plot, run log) whose failure is reported once and
  then ignored: the run goes on without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ImageError, OutputExistsError, StyleError
from ..files import atomic, images
from ..files.patterns import checkpoint_name
from ..report.listeners import Listener
from .console import error, warning


class Writer:
    """Writes the images of one run to --output and --checkpoint-output."""

    def __init__(
        self, output: str, checkpoint_pattern: str | None, overwrite: bool, reserved: Sequence[str] = ()
    ) -> None:
        self.output, self.pattern, self.overwrite = output, checkpoint_pattern, overwrite
        self.checkpoint_failed = False
        # the run's other outputs, which may not exist yet: "save now" never takes their names
        self.reserved = {os.path.abspath(p) for p in (output, *reserved)}

    def checkpoint(self, i: int, image: np.ndarray) -> None:
        """Checkpoint i; a failure is reported (the first one only) and the run goes on. A checkpoint whose
        name appeared meanwhile is kept under a temporary name, and each one is named (it is no failure)."""
        try:
            images.save_image(checkpoint_name(self.pattern, i), image, self.overwrite)
        except OutputExistsError as exc:
            warning(f"checkpoint: {exc}; the run goes on")
        except ImageError as exc:
            if not self.checkpoint_failed:
                warning(f"checkpoint not saved: {exc}; the run goes on (later failures are not reported)")
            self.checkpoint_failed = True

    def result(self, image: np.ndarray, what: str = "the result") -> str | None:
        """Save to --output; on failure one error line and the image under a fallback name. The name or None."""
        try:
            images.save_image(self.output, image, self.overwrite)
            return self.output
        except OutputExistsError as exc:
            error(str(exc))  # the temporary file holds the result; the message names it
            return exc.kept
        except ImageError as exc:
            return self._fallback(image, exc, what)

    def snapshot(self, i: int, image: np.ndarray) -> str:
        """The page's "save now" after iteration i: to the checkpoint file of i; where that name is taken (or there
        is no --checkpoint-output) beside it (or --output) as STEM.saved-N.EXT, the first N free. Never over a file
        that is there, --overwrite or not, nor on another output's name. The name; ImageError if it cannot be
        written."""
        first = checkpoint_name(self.pattern, i) if self.pattern is not None else None
        for name in snapshot_names(first, self.output):
            if os.path.lexists(name) or os.path.abspath(name) in self.reserved:
                continue
            try:
                images.save_image(name, image, overwrite=False)
                return name
            except OutputExistsError as exc:  # it appeared meanwhile: its temporary copy goes, the next N is tried
                os.unlink(exc.kept)
        raise ImageError(f"{first or self.output}: no free name for the saved image beside it")

    def _fallback(self, image: np.ndarray, exc: ImageError, what: str) -> str | None:
        reasons = []
        for name in atomic.fallback_names(self.output):
            try:
                images.save_image(name, image, overwrite=False)
            except ImageError as again:
                reasons.append(str(again))
                continue
            error(f"{exc}; {what} is saved as {name} instead")
            return name
        error(f"{exc}; {what} could not be saved anywhere else either ({reasons[-1]})")
        return None


SNAPSHOTS = 10_000  # STEM.saved-N.EXT names tried, at most


def snapshot_names(checkpoint: str | None, output: str) -> Iterator[str]:
    """Where "save now" may write: the checkpoint file if there is one, then STEM.saved-1.EXT, STEM.saved-2.EXT...
    beside it (or beside --output)."""
    if checkpoint is not None:
        yield checkpoint
    stem, ext = os.path.splitext(checkpoint or output)
    for n in range(1, SNAPSHOTS + 1):
        yield f"{stem}.saved-{n}{ext}"


class Guarded(Listener):
    """A listener that writes a file: its first failure is reported, then it is left out."""

    def __init__(self, listener: Listener, flag: str, name: str) -> None:
        self.listener, self.flag, self.name = listener, flag, name
        self.broken = False

    def _call(self, method: Callable[..., None], *args: Any, always: bool = False) -> None:
        if self.broken and not always:
            return
        try:
            method(*args)
        except (OSError, StyleError) as exc:
            if not self.broken:
                reason = atomic.write_error(self.name, exc) if isinstance(exc, OSError) else exc
                warning(f"{self.flag}: {reason}; the run goes on without it")
            self.broken = True

    def on(self, event: Any) -> None:
        self._call(self.listener.on, event)

    def failed(self) -> None:
        self._call(self.listener.failed)

    def close(self) -> None:
        self._call(self.listener.close, always=True)  # whatever was opened is closed, broken or not
