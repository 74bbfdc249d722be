"""The frames of a --content video or numbered frames, at the size they are stylised at, in order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..digests import whole_fingerprint
from ..style.pixels import resize, width_hw
from . import frames, media
from .kinds import FRAMES, VIDEO

DEFAULT_RATE = Fraction(24)  # of numbered frames, when no --frame-rate is given


@dataclass(frozen=True)
class Source:
    """A clip: ``count`` frames at ``rate`` per second, stylised at ``hw`` (height, width)."""

    path: str
    kind: str  # VIDEO or FRAMES (vgg.video.kinds)
    count: int
    rate: Fraction
    hw: tuple[int, int]
    audio: bool
    numbers: tuple[int, ...] = ()  # the frame numbers of numbered frames

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """Frame ``start`` and those after it: (H, W, 3) float32 RGB 0..255 at ``hw``."""
        if self.kind == FRAMES:
            raw: Iterator[Any] = frames.read_numbered(self.path, list(self.numbers), start)
        else:
            raw = media.read_frames(self.path, start)
        for frame in raw:
            yield resize(np.asarray(frame, dtype=np.float32), self.hw)

    def first_number(self) -> int:
        """The number numbered frames out start at: the content's first, or 1 (as ffmpeg's) after a video."""
        return self.numbers[0] if self.numbers else 1

    def fingerprint(self) -> Any:
        """What identifies the content: a video's size and SHA-256; each numbered frame's name, size and mtime."""
        if self.kind == VIDEO:
            return whole_fingerprint(self.path)
        out = []
        for number in self.numbers:
            stat = os.stat(frames.frame_name(self.path, number))
            out.append([number, stat.st_size, stat.st_mtime_ns])
        return out


def open_source(path: str, kind: str, width: int | None, rate: Fraction | None) -> Source:
    """The clip ``path`` names (kind VIDEO or FRAMES), at ``width`` (height as --width: vgg.style.pixels); ImageError
    (one line) if it cannot be read or holds no frame."""
    if kind == FRAMES:
        numbers = frames.numbered(path)
        first = next(frames.read_numbered(path, numbers[:1]))
        hw = first.shape[:2]
        count, audio, rate = len(numbers), False, rate or DEFAULT_RATE
    else:
        info = media.probe(path)
        hw, count, audio, numbers = (info.height, info.width), info.frames, info.audio, []
        rate = rate or info.rate
    if width is not None:
        hw = width_hw(hw, width)
    return Source(path, kind, count, rate, hw, audio, tuple(numbers))
