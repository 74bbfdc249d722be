"""Choosing how to evaluate a run in the memory it has: the plain graph when it fits, else the cheapest plan.

A plan (vgg.net.tiles.Plan) runs the layers up to a split in strips and the rest whole (vgg.style.planned). Its
peak is counted as the plain estimate counts (vgg.style.memory: the arrays minigrad keeps, layer by layer), in
phases: the targets (each style, then the content, in strips without a graph and the rest without one); an
evaluation's forward (a strip without a graph while the split's output fills, then the rest with its graph); and
its backward (the rest's graph, then each strip again with its graph, beside the gradients at the split and of the
image). Its cost is the FLOPs of the plain pass plus the strips': their rows with the halo each layer recomputes,
run twice forward (once without a graph, once with) and once backward. ``choose`` takes the cheapest plan whose
peak fits the budget; NoPlanFitsError when even the leanest does not.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..net.layers import BLOCK_CHANNELS, VGG19_LAYERS, layer_kind, layer_shapes, weight_elements
from ..net.tiles import SPLITS, Plan, heights, strips
from . import memory, timing

# Image-sized arrays a planned evaluation holds besides the plain path's: the image's leaf inside the op,
# the gradient summed over the strips, and the sum of the two.
PLANNED_IMAGE_ARRAYS = 3
# What a planned run's process holds at its peak, as a share of the graph phase's count: the count (memory.graph_phases,
# calibrated on the plain graph's kept heap, whose unreturned slack it covers) sums every array alive at the
# phase's worst layer; a planned run leaves malloc at glibc's defaults (vgg.cli.session), which hands each large
# array back when it is freed. Fitted to the peaks benchmarks/memory_check.py measured for pool1 and pool2 plans
# from 1024x1024 to 4032x3024 (0.74 to 0.86 of the count; README, Memory).
PLANNED_GRAPH_SHARE = 0.8
# A kept heap (minigrad.backend.reuse_host_memory: the arrays each iteration allocates again are not page-faulted
# again) held a plan's peak 1.05x to 1.46x its estimate (the larger strips the more: benchmarks/RESULTS.md, print
# size), and ran a pool2 plan at 1024x1024 in 13.5 s an iteration instead of 19.3 s on glibc's defaults.
KEPT_HEAP_EXCESS = 1.5
# A plan's iteration on glibc's defaults over the same plan with a kept heap (1.43x at 1024x1024: the page faults
# of the arrays allocated again each iteration), for choosing between a plan that can keep its heap and one that
# cannot.
GLIBC_HEAP_TIME = 1.4
# A plan is chosen only if its estimate leaves this share of the budget unused: room for the estimate's error
# (within 15% of the measured peak: benchmarks/memory_check.py) and for what else the machine runs.
PLAN_MARGIN = 0.85


class NoPlanFitsError(ConfigError):
    """Not even the leanest plan fits the memory budget (``leanest``: its peak in bytes)."""

    def __init__(self, message: str, leanest: int) -> None:
        super().__init__(message)
        self.leanest = leanest


def _split_index(plan: Plan) -> int:
    return VGG19_LAYERS.index(plan.split) + 1


def _strip_rows(height: int, plan: Plan) -> int:
    """The most image rows any strip is computed from."""
    return max(hi - lo for lo, hi in (s.image for s in strips(height, plan.split, plan.rows)))


def _elements(hw: tuple[int, int], plan: Plan, pooling: str) -> dict[str, int]:
    """In elements, for an image of ``hw``: the split's output, a strip's peak without and with its graph, and
    the rest's peak without a graph and in its forward and its backward with one."""
    shapes = layer_shapes(hw, memory.deepest())
    k = _split_index(plan)
    _, h, w, _, c = shapes[k - 1]
    strip = layer_shapes((_strip_rows(hw[0], plan), hw[1]), plan.split)
    rest_forward, rest_backward = memory.graph_phases(shapes[k:], pooling, with_grad=True)
    return {
        "split": h * w * c,
        "strip": memory.graph_peak(strip, pooling, with_grad=False),
        "strip_graph": memory.graph_peak(strip, pooling, with_grad=True),
        "rest": memory.graph_peak(shapes[k:], pooling, with_grad=False),
        "rest_forward": rest_forward,
        "rest_backward": rest_backward,
    }


def breakdown(
    content_hw: tuple[int, int],
    style_hws: Sequence[tuple[int, int]],
    plan: Plan,
    *,
    backend: str = "numpy",
    optimizer: str = "adam",
    dtype: Any = np.float32,
    history_size: int = 100,
    pooling: str = "max",
) -> dict[str, int]:
    """The parts of a plan's peak in bytes, as memory.breakdown gives them for the plain path."""
    itemsize = np.dtype(dtype).itemsize
    e = _elements(content_hw, plan, pooling)
    image = content_hw[0] * content_hw[1] * 3
    targets = 0
    for hw in [*style_hws, content_hw]:
        t = _elements(hw, plan, pooling)
        targets = max(targets, t["split"] + max(t["strip"], t["rest"]) + 2 * hw[0] * hw[1] * 3)  # + its input
    forward = e["split"] + max(e["strip"], e["rest_forward"])
    # backward: the rest's, then each strip's beside the split's output and its gradient
    backward = e["split"] + max(e["rest_backward"], e["split"] + e["strip_graph"])
    graph = ("content", max(forward, backward)) if max(forward, backward) >= targets else ("styles", targets)
    vectors = 2 if optimizer == "adam" else 2 * history_size + memory.LBFGS_EXTRA_VECTORS
    arrays = 2 + memory.IMAGE_TEMPORARIES + PLANNED_IMAGE_ARRAYS + vectors
    return {
        graph[0]: int(graph[1] * PLANNED_GRAPH_SHARE) * itemsize,
        "optimizer": image * arrays * itemsize,
        "weights": weight_elements() * itemsize,
        "process": memory.HOST_BASELINE if backend == "numpy" else 0,
    }


def peak_bytes(content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], plan: Plan | None, **kw: Any) -> int:
    """The peak of a run evaluated by ``plan`` (None: the plain graph), in bytes."""
    parts = (
        memory.breakdown(content_hw, style_hws, **kw) if plan is None else breakdown(content_hw, style_hws, plan, **kw)
    )
    return int(sum(parts.values()))


def keeps_heap(
    content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], plan: Plan | None, budget: int | None, **kw: Any
) -> bool:
    """Whether a run evaluated by ``plan`` may keep its heap (faster) within ``budget`` bytes: the plain graph always
    (its estimate is of a kept heap); a plan when its estimate times KEPT_HEAP_EXCESS fits (None: unknown, no)."""
    if plan is None:
        return True
    return budget is not None and _room_for_kept_heap(peak_bytes(content_hw, style_hws, plan, **kw), budget)


def _room_for_kept_heap(peak: int, budget: int) -> bool:
    """Whether a plan estimated at ``peak`` bytes may keep its heap within ``budget`` bytes."""
    return KEPT_HEAP_EXCESS * peak <= budget


def flops(hw: tuple[int, int], plan: Plan | None, channels: Sequence[int] = BLOCK_CHANNELS) -> int:
    """Multiply-adds times two of one evaluation and its gradient (the plain pass's, plus the strips' extra)."""
    total = timing.iteration_flops(hw, channels)
    if plan is None:
        return total
    shapes = layer_shapes(hw, memory.deepest(), channels)
    tiled = shapes[: _split_index(plan)]
    plain_part = sum(2 * 2 * h * w * 9 * ci * co for n, h, w, ci, co in tiled if layer_kind(n) == "conv")
    computed = 0
    for strip in strips(hw[0], plan.split, plan.rows):
        rows = strip.image[1] - strip.image[0]
        for name, _, w, c_in, c_out in tiled:
            if layer_kind(name) == "pool":
                rows = math.ceil(rows / 2)
            elif layer_kind(name) == "conv":
                computed += 2 * rows * w * 9 * c_in * c_out
    # each strip runs forward twice and backward once; the plain pass's tiled part (forward + backward) is replaced
    return total - plain_part + 3 * computed


def candidates(height: int) -> Iterator[Plan]:
    """Every plan worth weighing for an image ``height`` high: each split, strips of 1, 2, 4, ... rows."""
    for split in SPLITS:
        out = heights(height, split)[-1]
        rows = 1
        while True:
            yield Plan(split, min(rows, out))
            if rows >= out:
                break
            rows *= 2


def choose(
    content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], budget: int, **settings: Any
) -> Plan | None:
    """None (the plain graph) when its estimate fits in ``budget`` bytes, as before there were plans; else the
    quickest plan whose estimate is at most PLAN_MARGIN of the budget: its FLOPs, times GLIBC_HEAP_TIME where the
    budget has no room to keep its heap (keeps_heap), the larger strips on a tie; NoPlanFitsError when none is."""
    if peak_bytes(content_hw, style_hws, None, **settings) <= budget:
        return None
    peaks = {p: peak_bytes(content_hw, style_hws, p, **settings) for p in candidates(content_hw[0])}
    fitting = [p for p, peak in peaks.items() if peak <= PLAN_MARGIN * budget]
    if not fitting:
        leanest = min(peaks.values())
        raise NoPlanFitsError(
            f"even the leanest plan needs about {memory.format_bytes(leanest)}, more than "
            f"{PLAN_MARGIN:.0%} of {memory.format_bytes(budget)}",
            leanest,
        )

    def seconds(p: Plan) -> float:
        return flops(content_hw, p) * (1.0 if _room_for_kept_heap(peaks[p], budget) else GLIBC_HEAP_TIME)

    return min(fitting, key=lambda p: (seconds(p), -p.rows))
