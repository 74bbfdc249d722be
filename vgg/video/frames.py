"""Numbered frames in and out (Pillow only): the files a pattern names (vgg.video.kinds), in number order."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from ..errors import ImageError
from ..files import patterns
from ..files.images import load_image, save_image


def frame_name(pattern: str, number: int) -> str:
    return patterns.checkpoint_name(pattern, number)


def numbered(pattern: str) -> list[int]:
    """The numbers of the frames the pattern names that exist, ascending; ImageError if none, or if one is
    missing between the first and the last (a gap would join two shots as if they were one)."""
    directory = os.path.dirname(os.path.abspath(frame_name(pattern, 0)))
    if not os.path.isdir(directory):
        raise ImageError(f"{pattern}: the directory {directory} does not exist")
    found = sorted({i for path in patterns.existing_files(pattern, lambda i: True)
                    if (i := patterns.iteration_of(pattern, path)) is not None})  # fmt: skip
    if not found:
        raise ImageError(
            f"{pattern}: no frames match this pattern (such as {os.path.basename(frame_name(pattern, 1))})"
        )
    missing = sorted(set(range(found[0], found[-1] + 1)) - set(found))
    if missing:
        raise ImageError(
            f"{pattern}: frame {os.path.basename(frame_name(pattern, missing[0]))} is missing between "
            f"{os.path.basename(frame_name(pattern, found[0]))} and {os.path.basename(frame_name(pattern, found[-1]))}"
        )
    return found


def read_numbered(pattern: str, numbers: list[int], start: int = 0) -> Iterator[np.ndarray]:
    """The frames from index ``start`` of ``numbers`` on, as (H, W, 3) float32 RGB 0..255; all one size."""
    size = None
    for number in numbers[start:]:
        name = frame_name(pattern, number)
        image = load_image(name)
        size = size or image.shape
        if image.shape != size:
            raise ImageError(f"{name}: {image.shape[1]}x{image.shape[0]}, the frames before are {size[1]}x{size[0]}")
        yield image


def write_numbered(pattern: str, frames: Iterator[np.ndarray], first: int, overwrite: bool) -> int:
    """Each frame to the pattern's file of its number (from ``first``), placed atomically; how many."""
    count = 0
    for count, frame in enumerate(frames, start=1):
        save_image(frame_name(pattern, first + count - 1), frame, overwrite)
    return count
