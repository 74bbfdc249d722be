"""stylize(): the original's generator, the loop (vgg.style) with the reports the original makes (vgg.report).

It yields ``(iteration, image)`` at every checkpoint (0-based) and ``(None, image)`` at the end, and prints
the original's lines on a stream as it goes; the loss history goes to files when asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

import numpy as np

from .errors import ConfigError
from .net.model import VGG19
from .report.history import HistoryListener
from .report.listeners import broadcast
from .report.terminal import MODES, ProgressListener
from .style.config import StyleConfig
from .style.loop import Checkpoint, End, Event
from .style.run import Run


def stylize(
    network: VGG19 | str | os.PathLike,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    initial: np.ndarray | None = None,
    config: StyleConfig | None = None,
    *,
    stream: TextIO | None = None,
    progress: str = "auto",
    progress_write: str | os.PathLike | None = None,
    progress_plot: str | os.PathLike | None = None,
    **settings: Any,
) -> Iterator[tuple[int | None, np.ndarray]]:
    """Yield (iteration, best image so far) at checkpoints and (None, final image) at the end.

    ``network`` is a VGG19 or the path of a weight file; images are (H, W, 3) RGB 0..255 arrays, styles
    already at the size wanted (with ``scales``: as read, resized at each scale). ``settings``
    override fields of ``config`` (a StyleConfig); bad ones raise ConfigError here, at the call.
    Progress goes to ``stream`` (stderr by default; ``progress``: the status line, auto/always/never);
    ``progress_write`` and ``progress_plot`` name files for the loss history (vgg.report.history).
    Raises LossNotFiniteError, carrying the best finite image, if the loss becomes NaN or infinite.
    """
    if progress not in MODES:
        raise ConfigError(f"progress must be one of {', '.join(MODES)}, got {progress!r}")
    if progress_write is not None and progress_write == progress_plot:
        raise ConfigError("progress_write and progress_plot are the same file")
    run = Run(network, content, styles, initial, config, **settings)
    listeners = [ProgressListener(stream, progress), HistoryListener(progress_write, progress_plot)]
    return _images(broadcast(run.events(), listeners))


def _images(events: Iterator[Event]) -> Iterator[tuple[int | None, np.ndarray]]:
    for event in events:
        if isinstance(event, Checkpoint):
            yield event.i, event.image
        elif isinstance(event, End):
            yield None, event.image
