"""Max and average pooling over NHWC arrays, TensorFlow semantics.

SAME max-pool pads with -inf so a padded cell can never win; the backward routes each
gradient to the first maximum of its window in row-major order (TensorFlow's choice on
ties). SAME avg-pool divides by the number of real cells under each window.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import get_array_module
from . import fused
from .geometry import Axis, axis_geometry
from .window import crop_hw, offsets, pad_hw


class PoolGeometry(NamedTuple):
    h: Axis
    w: Axis
    kh: int
    kw: int
    sh: int
    sw: int


def pool_geometry(
    x_shape: tuple[int, ...], size: tuple[int, int], stride: tuple[int, int], padding: str
) -> PoolGeometry:
    _, h, w, _ = x_shape
    return PoolGeometry(
        axis_geometry(h, size[0], stride[0], padding), axis_geometry(w, size[1], stride[1], padding), *size, *stride
    )


def _taps(xpad: Any, g: PoolGeometry) -> Any:
    return offsets(xpad, g.kh, g.kw, g.sh, g.sw, g.h.out, g.w.out)


def max_pool_forward(x: Any, g: PoolGeometry) -> Any:
    xp = get_array_module(x)
    if fused.enabled(xp):
        return fused.max_pool(x, g)
    xpad = pad_hw(x, g.h, g.w, value=-xp.inf)  # x itself when no padding is needed
    taps = [view for _, _, view in _taps(xpad, g)]
    if len(taps) == 1:
        return taps[0].copy()
    y = xp.maximum(taps[0], taps[1])
    for view in taps[2:]:
        xp.maximum(y, view, out=y)
    return y


def _non_overlapping(g: PoolGeometry) -> bool:
    return g.sh >= g.kh and g.sw >= g.kw


def max_pool_backward(gy: Any, y: Any, x: Any, g: PoolGeometry) -> Any:
    """Each gradient goes to the first maximum of its window in row-major tap order, as TF.

    Backward gets x, not its padded copy: x is usually alive anyway (the preceding relu keeps
    it), while a padded copy kept from forward to backward would cost a whole input's memory.
    """
    xp = get_array_module(gy)
    if fused.enabled(xp) and _non_overlapping(g):
        return fused.max_pool_grad(gy, y, x, g)
    n, h, w, c = x.shape
    xpad = pad_hw(x, g.h, g.w, value=-xp.inf)
    gpad = xp.zeros(xpad.shape, dtype=gy.dtype)
    taps = list(zip((v for _, _, v in _taps(xpad, g)), (v for _, _, v in _taps(gpad, g))))
    taken = None
    for k, (x_view, g_view) in enumerate(taps):
        if k == len(taps) - 1 and taken is not None:
            wins = ~taken
        else:
            wins = x_view == y
            if taken is not None:
                wins &= ~taken
        taken = wins if taken is None else taken | wins
        if _non_overlapping(g):
            xp.multiply(gy, wins, out=g_view)
        else:
            g_view += gy * wins
    return crop_hw(gpad, g.h, g.w, h, w)


def _real_cell_counts(xp: Any, x_shape: tuple[int, ...], g: PoolGeometry, dtype: Any) -> Any:
    """How many unpadded cells each window covers, shaped (1, OH, OW, 1)."""
    ones = pad_hw(xp.ones((1, x_shape[1], x_shape[2], 1), dtype=dtype), g.h, g.w)
    counts = xp.zeros((1, g.h.out, g.w.out, 1), dtype=dtype)
    for _, _, view in _taps(ones, g):
        counts += view
    return counts


def avg_pool_forward(x: Any, g: PoolGeometry) -> tuple[Any, Any]:
    xp = get_array_module(x)
    xpad = pad_hw(x, g.h, g.w)
    y = xp.zeros((x.shape[0], g.h.out, g.w.out, x.shape[3]), dtype=x.dtype)
    for _, _, view in _taps(xpad, g):
        y += view
    counts = _real_cell_counts(xp, x.shape, g, x.dtype)
    y /= counts
    return y, counts


def avg_pool_backward(gy: Any, counts: Any, x_shape: tuple[int, ...], g: PoolGeometry) -> Any:
    xp = get_array_module(gy)
    n, h, w, c = x_shape
    share = gy / counts
    gpad = xp.zeros((n, h + g.h.before + g.h.after, w + g.w.before + g.w.after, c), dtype=gy.dtype)
    for _, _, view in _taps(gpad, g):
        view += share
    return crop_hw(gpad, g.h, g.w, h, w)
