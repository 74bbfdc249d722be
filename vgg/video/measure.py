"""Flicker as the warping error (Lai et al. 2018), on the stylised frames, with the flow of the content frames.

For frames t-1 and t: the stylised frame t-1 warped onto frame t (the backward flow of the content), compared
with the stylised frame t over the pixels the consistency check labels reliable (vgg.video.flow, unsmoothed),
all three channels. ``mae``: the mean absolute difference in 0..255 (the measure the issue asks for);
``mse01``: Lai et al.'s own, the mean squared difference of images in [0, 1]; the two are not comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import flow


@dataclass(frozen=True)
class PairError:
    mae: float
    mse01: float
    reliable: float  # the share of pixels compared


def pair_error(previous: np.ndarray, current: np.ndarray, backward: np.ndarray, labels: np.ndarray) -> PairError:
    """The warping error of stylised frames (previous, current), given the content's backward flow and labels."""
    mask = labels == flow.RELIABLE
    if not mask.any():
        mask = np.ones_like(mask)  # Lai et al.: nothing reliable, compare everything
    warped = flow.warp(previous, backward)
    diff = (np.asarray(current, np.float64) - warped)[mask]
    return PairError(float(np.abs(diff).mean()), float(((diff / 255.0) ** 2).mean()), float(mask.mean()))


def clip_errors(
    stylised: Sequence[np.ndarray], content: Sequence[np.ndarray], preset: str = "medium"
) -> list[PairError]:
    """The warping error of every pair (t-1, t) of a stylised clip, with the flows of its content frames."""
    out = []
    for t in range(1, len(stylised)):
        pair = flow.pair_flow(content[t - 1], content[t], preset)
        out.append(pair_error(stylised[t - 1], stylised[t], pair.backward, pair.labels))
    return out
