"""The finished frames of a work folder put together: a video file or numbered frames, then the folder removed."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..style.pixels import to_uint8
from . import frames, media
from .kinds import FRAMES
from .source import Source
from .work import WorkFolder, check_frames


def finished(work: WorkFolder, count: int) -> Iterator[np.ndarray]:
    """The frames as the video shows them: chunks cross-faded over their lead frames (WorkFolder.finished)."""
    weights = work.lead_weights()
    for index in range(count):
        yield to_uint8(work.finished(index, weights))


def assemble(source: Source, work: WorkFolder, output: str, kind: str, overwrite: bool) -> list[str]:
    """Frames 0..count-1 of the work folder (all of them finished, else ImageError) to ``output``, placed atomically
    (numbered frames: each file); then the work folder is removed. The notes of the writer, one line each."""
    check_frames(work, source.count)
    if kind == FRAMES:
        frames.write_numbered(output, finished(work, source.count), source.first_number(), overwrite)
        notes = ["numbered frames hold no audio: the content's audio is left out"] if source.audio else []
    else:
        audio = source.path if source.audio else None
        notes = media.write_video(output, finished(work, source.count), source.rate, audio, overwrite)
    work.remove()
    return notes
