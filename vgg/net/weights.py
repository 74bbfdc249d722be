"""What every network reader gives: VGG-19's conv weights in one layout, whatever the file's.

Kernels are HWIO float32 arrays for RGB input in 0..255 minus the mean pixel, as the seed reads them from
the .mat (with the two spatial axes swapped relative to Caffe's: docs/REFERENCE.md section 1), whichever
file they come from; biases flat float32, the mean pixel RGB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import NetworkFileError

# What VGG-16 lacks of VGG-19's conv layers: a file with all the others is VGG-16, and named so.
VGG16_ABSENT = ("conv3_4", "conv4_4", "conv5_4")
VGG16_ONLY = "13 conv layers: no conv3_4, conv4_4 or conv5_4"


@dataclass
class NetworkWeights:
    """The conv layers' (kernel HWIO, bias), the RGB mean pixel, and what the file was (for messages)."""

    params: dict[str, tuple[np.ndarray, np.ndarray]]
    mean_pixel: np.ndarray
    description: str  # 'MatConvNet .mat (new layout)', ...
    format: str  # the reader's key, the --source of its releases: 'mat', 'keras' or 'caffe'


def check_finite(path: str | os.PathLike, params: dict, mean_pixel: np.ndarray, mean_name: str) -> None:
    """NetworkFileError naming the first layer whose weights hold NaN or infinity (a damaged file)."""
    for name, (kernel, bias) in params.items():
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise NetworkFileError(f"{os.fspath(path)}: layer {name} has NaN or infinite weights (a damaged file)")
    if not np.isfinite(mean_pixel).all():
        raise NetworkFileError(f"{os.fspath(path)}: the mean pixel ({mean_name}) is NaN or infinite")


def vgg16_missing(missing: list[str]) -> bool:
    """Whether the conv layers missing from a file (VGG-19's names, in order) are exactly those VGG-16 lacks."""
    return tuple(missing) == VGG16_ABSENT
