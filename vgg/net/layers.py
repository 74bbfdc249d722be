"""VGG-19's layer table: names, kinds, kernel shapes, and the shape of every layer's output at an image size.

Layouts are TensorFlow's: images NHWC, kernels HWIO (KH, KW, C_in, C_out).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

# The 36 layers used, in the order (and at the index) of MatConvNet's `layers` cell.
VGG19_LAYERS: tuple[str, ...] = (
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4",
)  # fmt: skip
CONV_LAYERS: tuple[str, ...] = tuple(n for n in VGG19_LAYERS if n.startswith("conv"))
# Output channels of each block of the real network (conv1_* .. conv5_*).
BLOCK_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 512)
# The mean pixel of the real file (RGB, 0..255), for networks built without one.
MEAN_PIXEL = np.array([123.68, 116.779, 103.939], dtype=np.float32)
POOLINGS = ("max", "avg")


def layer_kind(name: str) -> str:
    """'conv', 'relu' or 'pool' (MatConvNet's layer type) for a layer name."""
    return name[:4]


def conv_shapes(block_channels: Iterable[int] = BLOCK_CHANNELS) -> dict[str, tuple[int, int, int, int]]:
    """HWIO kernel shape of every conv layer for the given per-block channel counts."""
    channels = tuple(block_channels)
    shapes, c_in = {}, 3
    for name in CONV_LAYERS:
        c_out = channels[int(name[4]) - 1]
        shapes[name] = (3, 3, c_in, c_out)
        c_in = c_out
    return shapes


def layer_shapes(hw: tuple[int, int], deepest: str, channels: Sequence[int] = BLOCK_CHANNELS) -> list[tuple]:
    """(name, h, w, c_in, c_out) of every layer up to ``deepest`` for an h x w image (SAME pooling)."""
    kernels = conv_shapes(channels)
    (h, w), c, out = hw, 3, []
    for name in VGG19_LAYERS[: VGG19_LAYERS.index(deepest) + 1]:
        kind = layer_kind(name)
        c_out = kernels[name][3] if kind == "conv" else c
        if kind == "pool":
            h, w = math.ceil(h / 2), math.ceil(w / 2)  # 2x2, stride 2, SAME: never below 1
        out.append((name, h, w, c, c_out))
        c = c_out
    return out


def weight_elements(channels: Sequence[int] = BLOCK_CHANNELS) -> int:
    """Kernel and bias elements of every conv layer (all are loaded, whichever are used)."""
    return sum(kh * kw * ci * co + co for kh, kw, ci, co in conv_shapes(channels).values())


def check_pooling(pooling: str) -> str:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    return pooling
