"""How much memory a run needs, worked out from the layer table, and how much the machine has.

The estimate walks VGG-19's layers (vgg.net.layers) at the run's image sizes and counts the
arrays the engine holds, as minigrad's ops keep them:
- forward, per conv: its padded input and the "wide" output of the shifted GEMMs (W + 2 columns a
  row); each relu keeps its output (for its backward, the pools' and the Gram matrices'), a max
  pool keeps its output, an avg pool only its counts; the content loss keeps relu4_2 - target.
- backward, from the deepest layer up: the gradient of the layer output, the padded gradient and the
  wide result of the input-gradient conv, and the Gram matrices' gradients of the shallower style
  layers waiting to be added (they are computed first); every saved array of a deeper layer is gone.
- the style targets: one no-grad forward per style image at its size (two layers alive at a time).
- the optimiser: Adam's two moment arrays, or L-BFGS's 2 * history_size image-sized vectors.
The host estimate adds what the process holds before the run (the interpreter, numpy, scipy,
BLAS buffers) and the network's weights. benchmarks/memory_check.py compares it with measured peaks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..net.layers import VGG19_LAYERS, layer_kind, layer_shapes, weight_elements
from .losses import CONTENT_LAYERS, STYLE_LAYERS

# What a numpy process with this package imported holds before any image is read (measured RSS of
# `python -c "import vgg, scipy.io, PIL.Image"` plus OpenBLAS's per-thread buffers), bytes.
HOST_BASELINE = 110 * 2**20
# Image-sized arrays besides the parameter and its gradient: the TV loss's differences and the
# optimiser step's temporaries.
IMAGE_TEMPORARIES = 8
# L-BFGS keeps 2 * history_size vectors plus this many more (direction, previous gradient, ...).
LBFGS_EXTRA_VECTORS = 4


def _kept(name: str, h: int, w: int, c: int, pooling: str) -> int:
    """Elements a layer's output keeps alive from forward to backward."""
    kind = layer_kind(name)
    if kind == "relu" or (kind == "pool" and pooling == "max"):
        return h * w * c
    return 0


def _conv_transient(h: int, w: int, c_in: int, c_out: int) -> int:
    """The padded input (one extra zero row) and the wide output of one stride-1 3x3 conv."""
    return (h + 3) * (w + 2) * c_in + h * (w + 2) * c_out


def _forward_work(name: str, h: int, w: int, c_in: int, c_out: int) -> int:
    """Elements a layer allocates while it runs, besides what is already kept (its input is)."""
    kind = layer_kind(name)
    if kind == "conv":
        return _conv_transient(h, w, c_in, c_out)
    if kind == "relu":
        return h * (w + 2) * c_out + h * w * c_out  # the conv's wide output, still alive, and the relu's
    return h * w * c_out  # a pool's output (even sides: no padded copy)


def graph_peak(shapes: list[tuple], pooling: str, with_grad: bool) -> int:
    """Peak elements of one forward (and, ``with_grad``, its backward) through the layers."""
    return max(graph_phases(shapes, pooling, with_grad))


def graph_phases(shapes: list[tuple], pooling: str, with_grad: bool) -> tuple[int, int]:
    """(the forward's peak, the backward's peak; 0 without a graph) in elements, through the layers."""
    kept, peak, saved = 0, 0, []
    for name, h, w, c_in, c_out in shapes:
        peak = max(peak, kept + _forward_work(name, h, w, c_in, c_out))
        held = _kept(name, h, w, c_out, pooling) if with_grad else 0
        saved.append(held)
        if with_grad:
            kept += held
        elif layer_kind(name) != "conv":
            kept = h * w * c_out  # no graph: only the latest output stays (a conv's until its relu)
    if not with_grad:
        return peak, 0
    content = next((s for s in shapes if s[0] == CONTENT_LAYERS[0]), None)
    kept += 0 if content is None else 2 * content[1] * content[2] * content[4]  # relu4_2 - target, its square
    return max(peak, kept), _backward_peak(shapes, saved, kept)


def _backward_peak(shapes: list[tuple], saved: list[int], kept: int) -> int:
    """From the deepest layer up: shallower saved arrays, waiting Gram gradients, this layer's work."""
    waiting = sum(h * w * c for name, h, w, _, c in shapes if name in STYLE_LAYERS)
    peak = 0
    for (name, h, w, c_in, c_out), held in zip(reversed(shapes), reversed(saved)):
        if name in STYLE_LAYERS:
            waiting -= h * w * c_out
        kind = layer_kind(name)
        if kind == "conv":
            work = h * w * c_out + _conv_transient(h, w, c_out, c_in)
        elif kind == "relu":
            work = 3 * h * w * c_out
        else:
            work = 7 * h * w * c_out  # gy, the padded input-sized gradient (4x), a tap's mask and the cells taken
        peak = max(peak, kept + waiting + work)
        kept -= held
    return peak


def deepest() -> str:
    wanted = (*STYLE_LAYERS, CONTENT_LAYERS[0])
    return max(wanted, key=VGG19_LAYERS.index)


def breakdown(
    content_hw: tuple[int, int],
    style_hws: Sequence[tuple[int, int]],
    *,
    backend: str = "numpy",
    optimizer: str = "adam",
    dtype: Any = np.float32,
    history_size: int = 100,
    pooling: str = "max",
) -> dict[str, int]:
    """The parts of the peak, in bytes: "content" (the graph of the content's forward and backward, or, when
    larger, "styles": the style targets' forward), "optimizer" (its state and the image-sized temporaries),
    "weights", "process" (the interpreter and libraries; 0 on a GPU). Their sum is estimate_peak_bytes."""
    itemsize = np.dtype(dtype).itemsize
    last = deepest()
    run = graph_peak(layer_shapes(content_hw, last), pooling, with_grad=True)
    targets = max((graph_peak(layer_shapes(hw, last), pooling, False) for hw in style_hws), default=0)
    image = content_hw[0] * content_hw[1] * 3
    vectors = 2 if optimizer == "adam" else 2 * history_size + LBFGS_EXTRA_VECTORS
    graph = ("content", run) if run >= targets else ("styles", targets)
    return {
        graph[0]: graph[1] * itemsize,
        "optimizer": image * (2 + IMAGE_TEMPORARIES + vectors) * itemsize,
        "weights": weight_elements() * itemsize,
        "process": HOST_BASELINE if backend == "numpy" else 0,
    }


def estimate_peak_bytes(content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], **settings: Any) -> int:
    """The run's peak memory in bytes: host RSS for numpy, device memory for cupy (settings: see breakdown)."""
    return int(sum(breakdown(content_hw, style_hws, **settings).values()))


def available_bytes(backend: str) -> int | None:
    """What the OS reports available (numpy) or the device's free memory (cupy); None if unknown."""
    if backend == "numpy":
        return _host_available()
    try:
        from minigrad.backend import array_module

        free, _total = array_module(backend).cuda.runtime.memGetInfo()
        return int(free)
    except Exception:  # no device, or a backend without that query: no guard rather than a wrong one
        return None


def _host_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def largest_fitting_width(fits: Callable[[int], bool], upper: int) -> int | None:
    """The largest width in 1..upper for which ``fits(width)`` holds (monotone), or None."""
    if upper < 1 or not fits(1):
        return None
    low, high = 1, upper  # fits(low) holds
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def format_bytes(n: float) -> str:
    """'1.2 GB', '340 MB' (powers of 1024, as free(1) -h)."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def network_load_bytes(path: str | os.PathLike, dtype: Any = np.float32) -> int:
    """Host peak while the .mat is read: scipy holds the whole file, then the weights are converted
    (measured 157 MB above the baseline for an 82 MB file of VGG-19's conv weights)."""
    return HOST_BASELINE + os.path.getsize(path) + weight_elements() * np.dtype(dtype).itemsize


def smallest_side() -> int:
    """The smallest image side the losses can use, from the layer table: every layer the losses read
    must keep at least one pixel (SAME pooling never goes below one), and the total-variation loss
    needs two pixels in each direction to have a difference at all."""
    side = 1
    while any(h < 1 for _, h, _, _, _ in layer_shapes((side, side), deepest())):
        side += 1
    return max(side, 2)


def largest_input(content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]], pooling: str = "max") -> int:
    """Which image needs the most memory: -1 for the content (its graph), i for style i (its targets)."""
    last = deepest()
    needs = [graph_peak(layer_shapes(content_hw, last), pooling, with_grad=True)]
    needs += [graph_peak(layer_shapes(hw, last), pooling, with_grad=False) for hw in style_hws]
    return int(np.argmax(needs)) - 1
