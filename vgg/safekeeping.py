"""Keeping the work of a run: a failed write or an interrupt never loses the image made so far.

- ``Writer``: checkpoints (a failed one is reported once and the run goes on) and the result
  (atomic; without --overwrite never over a file that appeared meanwhile; if it cannot be written,
  the image is saved under a fallback name that the message gives).
- ``Guarded``: a listener (progress file, plot) whose failure is reported once and then ignored.
- ``sigterm_raises`` and ``interrupted``: Ctrl-C and SIGTERM save the best image so far to the
  output and exit 130 / 143; a second one during that save exits at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import numpy as np

from . import arguments, images, outputs
from .errors import ImageError, StyleError
from .listeners import Listener
from .progress import ERASE

PROG = "stylize"  # the program name every message starts with (stylize_cli uses this one)


def say(kind: str, text: str, stream: TextIO | None = None) -> None:
    """One line of ours on stderr, below a status line if one is drawn (it is drawn again later)."""
    stream = stream if stream is not None else sys.stderr
    prefix = ERASE if _isatty(stream) else ""
    stream.write(f"{prefix}{PROG}: {kind}: {text}\n")
    stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Writer:
    """Writes the images of one run to --output and --checkpoint-output."""

    def __init__(self, output: str, checkpoint_pattern: str | None, overwrite: bool) -> None:
        self.output, self.pattern, self.overwrite = output, checkpoint_pattern, overwrite
        self.checkpoint_failed = False

    def checkpoint(self, i: int, image: np.ndarray) -> None:
        """Checkpoint i; a failure is reported (the first one only) and the run goes on. A checkpoint whose
        name appeared meanwhile is kept under a temporary name, and each one is named (it is no failure)."""
        try:
            images.save_image(arguments.checkpoint_name(self.pattern, i), image, self.overwrite)
        except outputs.OutputExistsError as exc:
            say("warning", f"checkpoint: {exc}; the run goes on")
        except ImageError as exc:
            if not self.checkpoint_failed:
                say("warning", f"checkpoint not saved: {exc}; the run goes on (later failures are not reported)")
            self.checkpoint_failed = True

    def result(self, image: np.ndarray, what: str = "the result") -> str | None:
        """Save to --output; on failure one error line and the image under a fallback name. The name or None."""
        try:
            images.save_image(self.output, image, self.overwrite)
            return self.output
        except outputs.OutputExistsError as exc:
            say("error", str(exc))  # the temporary file holds the result; the message names it
            return exc.kept
        except ImageError as exc:
            return self._fallback(image, exc, what)

    def _fallback(self, image: np.ndarray, exc: ImageError, what: str) -> str | None:
        reasons = []
        for name in outputs.fallback_names(self.output):
            try:
                images.save_image(name, image, overwrite=False)
            except ImageError as again:
                reasons.append(str(again))
                continue
            say("error", f"{exc}; {what} is saved as {name} instead")
            return name
        say("error", f"{exc}; {what} could not be saved anywhere else either ({reasons[-1]})")
        return None


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
                error = outputs.write_error(self.name, exc) if isinstance(exc, OSError) else exc
                say("warning", f"{self.flag}: {error}; the run goes on without it")
            self.broken = True

    def on(self, event: Any) -> None:
        self._call(self.listener.on, event)

    def failed(self) -> None:
        self._call(self.listener.failed)

    def close(self) -> None:
        self._call(self.listener.close, always=True)  # whatever was opened is closed, broken or not


class Terminated(BaseException):
    """SIGTERM, raised where the program is (as Ctrl-C raises KeyboardInterrupt)."""


class _Again(BaseException):
    """A second Ctrl-C or SIGTERM while the first one's image is being saved."""


EXIT = {KeyboardInterrupt: 130, Terminated: 143}  # 128 + SIGINT, 128 + SIGTERM


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (main thread only; elsewhere nothing changes)."""

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(exc: BaseException, best: Callable[[], np.ndarray | None], writer: Writer) -> int:
    """After Ctrl-C or SIGTERM: the best image so far to --output, one line, 130 / 143."""
    code = EXIT.get(type(exc), 130)
    what = "interrupted" if code == 130 else "terminated"

    def again(signum: int, frame: Any) -> None:
        raise _Again()

    previous = {s: signal.signal(s, again) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        image = best()
        if image is None:
            say("error", f"{what} before any image was evaluated; nothing saved")
            return code
        saved = writer.result(image, "the best image so far")
        if saved == writer.output:
            say("error", f"{what}; saved the best image so far to {saved}")
        return code
    except _Again:
        say("error", f"{what} again; exiting at once, nothing saved")
        return code
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
