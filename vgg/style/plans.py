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
# again, 0.97x-1.21x the plain graph's time where a glibc heap took 1.38x) never gives memory back, and a plan's
# phases leave it in pieces: the rest's backward frees arrays of the whole split output's width, which the strips'
# larger arrays cannot reuse. Its peak counts KEPT_GRAPH_SHARE of the phases' arrays, and the strips' backward sits
# above KEPT_REST_LEFT of the rest's backward. Fitted to eleven kept-heap peaks from 512x512 to 4032x3024, pool1
# and pool2 (within 6%), and checked on pool3 and other sizes (benchmarks/RESULTS.md, print size).
KEPT_GRAPH_SHARE = 0.9
KEPT_REST_LEFT = 0.32
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
    kept_heap: bool = False,
) -> dict[str, int]:
    """The parts of a plan's peak in bytes, as memory.breakdown gives them for the plain path; ``kept_heap``: in a
    heap kept for reuse (KEPT_GRAPH_SHARE), else on glibc's defaults (PLANNED_GRAPH_SHARE)."""
    itemsize = np.dtype(dtype).itemsize
    e = _elements(content_hw, plan, pooling)
    image = content_hw[0] * content_hw[1] * 3
    targets = 0
    for hw in [*style_hws, content_hw]:
        t = _elements(hw, plan, pooling)
        targets = max(targets, t["split"] + max(t["strip"], t["rest"]) + 2 * hw[0] * hw[1] * 3)  # + its input
    forward = e["split"] + max(e["strip"], e["rest_forward"])
    # backward: the rest's, then each strip's beside the split's output and its gradient (and, in a kept heap,
    # above what the rest's left in pieces)
    strips_backward = e["split"] + e["strip_graph"] + (KEPT_REST_LEFT * e["rest_backward"] if kept_heap else 0)
    backward = e["split"] + max(e["rest_backward"], strips_backward)
    graph = ("content", max(forward, backward)) if max(forward, backward) >= targets else ("styles", targets)
    vectors = 2 if optimizer == "adam" else 2 * history_size + memory.LBFGS_EXTRA_VECTORS
    arrays = 2 + memory.IMAGE_TEMPORARIES + PLANNED_IMAGE_ARRAYS + vectors
    return {
        graph[0]: int(graph[1] * (KEPT_GRAPH_SHARE if kept_heap else PLANNED_GRAPH_SHARE)) * itemsize,
        "optimizer": image * arrays * itemsize,
        "weights": weight_elements() * itemsize,
        "process": memory.HOST_BASELINE if backend == "numpy" else 0,
    }


def peak_bytes(content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], plan: Plan | None, **kw: Any) -> int:
    """The peak of a run evaluated by ``plan`` (None: the plain graph), in bytes; for a plan, ``kept_heap=True``
    counts it in a heap kept for reuse (the plain graph's estimate always is)."""
    if plan is None:
        kw.pop("kept_heap", None)
        return int(sum(memory.breakdown(content_hw, style_hws, **kw).values()))
    return int(sum(breakdown(content_hw, style_hws, plan, **kw).values()))


def keeps_heap(
    content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], plan: Plan | None, budget: int | None, **kw: Any
) -> bool:
    """Whether a run evaluated by ``plan`` keeps its heap (faster) within ``budget`` bytes: the plain graph always
    (its estimate is of a kept heap); on a GPU always (CuPy's pool keeps its blocks for reuse as a kept heap does;
    not yet measured against a GPU); on the host a plan when its kept heap's estimate is within PLAN_MARGIN of the
    budget (None: unknown, no)."""
    if plan is None or kw.get("backend", "numpy") != "numpy":
        return True
    return budget is not None and peak_bytes(content_hw, style_hws, plan, kept_heap=True, **kw) <= PLAN_MARGIN * budget


def run_peak_bytes(
    content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], plan: Plan | None, budget: int | None, **kw: Any
) -> int:
    """The peak of a run evaluated by ``plan`` within ``budget``, in the heap it will run in (keeps_heap)."""
    kept = keeps_heap(content_hw, style_hws, plan, budget, **kw)
    return peak_bytes(content_hw, style_hws, plan, kept_heap=kept, **kw)


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
    quickest plan whose estimate in the heap it would run in (keeps_heap) is at most PLAN_MARGIN of the budget: its
    FLOPs, times GLIBC_HEAP_TIME on glibc's defaults; the larger strips on a tie; NoPlanFitsError when none fits."""
    if peak_bytes(content_hw, style_hws, None, **settings) <= budget:
        return None
    seconds, leanest = {}, None
    for p in candidates(content_hw[0]):
        kept = keeps_heap(content_hw, style_hws, p, budget, **settings)
        peak = peak_bytes(content_hw, style_hws, p, kept_heap=kept, **settings)
        leanest = peak if leanest is None else min(leanest, peak)
        if peak <= PLAN_MARGIN * budget:
            seconds[p] = flops(content_hw, p) * (1.0 if kept else GLIBC_HEAP_TIME)
    if not seconds:
        raise NoPlanFitsError(
            f"even the leanest plan needs about {memory.format_bytes(leanest)}, more than "
            f"{PLAN_MARGIN:.0%} of {memory.format_bytes(budget)}",
            leanest,
        )
    return min(seconds, key=lambda p: (seconds[p], -p.rows))
