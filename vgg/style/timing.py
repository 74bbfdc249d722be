"""How long an iteration will take, before any is run: the network's FLOPs over a measured GEMM rate.

An iteration is a forward pass to the deepest loss layer, the Gram matrices, and the backward pass to
the image: each 3x3 convolution costs 2 * H * W * 9 * C_in * C_out FLOPs forward and as much again for
its input gradient (no weight gradient is computed); a Gram matrix 2 * H * W * C^2, and its gradient as
much. Those GEMMs are nearly all of the time (benchmarks/RESULTS.md), so FLOPs over the rate of a
GEMM of a typical shape, measured here for a moment, estimate the time; the rest (ReLU, pooling, the
optimiser) is left out, so the estimate is low by some tens of percent.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from minigrad import backend as mg_backend
from minigrad.kernels import blas

from ..net.layers import BLOCK_CHANNELS, layer_kind, layer_shapes
from .losses import STYLE_LAYERS

DEEPEST = "relu5_1"
# Evaluations of the loss and its gradient per iteration: one; L-BFGS's strong-Wolfe search tries at
# least one point (the accepted last trial is the loop's next evaluation), more when the unit step is
# refused: 107 forward and backward passes for 100 iterations, measured by `python -m benchmarks.evaluations`
# (128x128, the examples, a full-width random VGG-19; a count, not a timing).
EVALUATIONS = {"adam": 1.0, "lbfgs": 1.0, "lbfgs+strong_wolfe": 1.07}


def iteration_flops(hw: tuple[int, int], channels: Sequence[int] = BLOCK_CHANNELS) -> int:
    """Multiply-adds times two of one forward and backward pass for an h x w image (``channels`` per block)."""
    total = 0
    for name, h, w, c_in, c_out in layer_shapes(hw, DEEPEST, channels):
        if layer_kind(name) == "conv":
            total += 2 * (2 * h * w * 9 * c_in * c_out)
        if name in STYLE_LAYERS:
            total += 2 * (2 * h * w * c_out * c_out)
    return total


def gemm_rate(backend: str = "numpy", seconds: float = 0.2) -> float:
    """FLOP/s of a float32 (8192 x 256) @ (256 x 256) GEMM (a conv tap's shape) through the engine's BLAS."""
    xp = mg_backend.array_module(backend)
    matmul = blas.matmul if backend == "numpy" else xp.matmul
    a, b = (xp.asarray(np.random.default_rng(k).standard_normal(shape, dtype=np.float32))
            for k, shape in enumerate(((8192, 256), (256, 256))))  # fmt: skip
    flops, best, end = 2 * 8192 * 256 * 256, float("inf"), time.perf_counter() + seconds
    mg_backend.synchronize(matmul(a, b))  # warm up (on a GPU: load the kernel)
    while time.perf_counter() < end or best == float("inf"):
        start = time.perf_counter()
        mg_backend.synchronize(matmul(a, b))
        best = min(best, time.perf_counter() - start)
    return flops / best


def seconds_per_iteration(
    hws: Sequence[tuple[int, int]],
    optimizer: str,
    line_search: str,
    rate: float,
    channels: Sequence[int] = BLOCK_CHANNELS,
) -> list[float]:
    """The estimated seconds of one iteration at each content size."""
    key = optimizer if optimizer == "adam" or line_search == "none" else f"{optimizer}+{line_search}"
    return [EVALUATIONS[key] * iteration_flops(hw, channels) / rate for hw in hws]
