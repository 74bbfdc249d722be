"""One-launch CUDA kernels for the cupy backend where the generic array code takes several.

Each function here computes exactly what its generic counterpart in window.py, pool.py or
ops/nn.py computes (the same comparisons, the same multiplications, so the same bits), as one
``cupy.ElementwiseKernel`` launch:

- ``pad``: a padded NHWC copy (generic: an empty array, four border fills, one interior copy);
- ``max_pool``: the window maximum, NaN-propagating like ``maximum`` (generic: KH*KW-1 launches);
- ``max_pool_grad``: the max-pool input gradient for non-overlapping windows, the first maximum
  in row-major tap order taking it, TF's rule (generic: about four launches per tap plus a zero fill);
- ``relu_grad``: ``gy * (y > 0)`` (generic: a comparison and a multiplication).

Only used when ``enabled(xp)``: on cupy, with ``FUSED`` on, where cupy has ElementwiseKernel (the CPU
stand-in for CuPy does not; it runs the generic code). Kernels are compiled by CuPy on first use and
cached by it; their scalar arguments are host values, so a captured CUDA graph replays them as they are.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from .geometry import Axis

# off: the generic array code on cupy too (the parity checks compare the two); MINIGRAD_FUSED=0 starts
# with it off, so that a GPU run can go on if a kernel fails to compile there
FUSED = os.environ.get("MINIGRAD_FUSED", "1") != "0"


def _index(h: str, w: str, row: str = "row", col: str = "col") -> str:
    """CUDA lines splitting the flat C-order index i of an (N, h, w, c) array into n, row, col, ch."""
    return f"""
    const long long ch = i % c; long long rest = i / c;
    const long long {col} = rest % {w}; rest /= {w};
    const long long {row} = rest % {h}; const long long n = rest / {h};
"""


def enabled(xp: Any) -> bool:
    """True where the fused kernels run: cupy (not numpy), FUSED on, ElementwiseKernel present."""
    return FUSED and xp is not np and hasattr(xp, "ElementwiseKernel")


@functools.cache
def _kernel(xp: Any, name: str) -> Any:
    params, body = _SOURCES[name]
    return xp.ElementwiseKernel(params[0], params[1], body, f"minigrad_{name}")


def _xp(a: Any) -> Any:
    """The module the kernels come from: cupy (only ever called on cupy arrays; tests put a host one here)."""
    import sys

    return sys.modules["cupy"]


_PAD = (
    ("raw T x, int32 h, int32 w, int32 c, int32 ht, int32 wd, int32 top, int32 left, T value", "T out"),
    _index("ht", "wd")
    + """
    const long long r = row - top, q = col - left;
    out = (r >= 0 && r < h && q >= 0 && q < w) ? x[((n * h + r) * w + q) * c + ch] : value;
""",
)


def pad(x: Any, ah: Axis, aw: Axis, value: float) -> Any:
    """x (N, H, W, C) padded in H and W with ``value``, as one kernel."""
    xp = _xp(x)
    n, h, w, c = x.shape
    ht, wd = h + ah.before + ah.after, w + aw.before + aw.after
    out = xp.empty((n, ht, wd, c), dtype=x.dtype)
    args = (h, w, c, ht, wd, ah.before, aw.before, x.dtype.type(value))
    return _kernel(xp, "pad")(xp.ascontiguousarray(x), *args, out)


# The window of output cell (p, q) covers padded rows p*sh .. p*sh+kh-1; a padded cell reads -inf.
_WINDOW_VALUE = """
    const long long r = p * sh + a - top, s = q * sw + b - left;
    const T v = (r >= 0 && r < h && s >= 0 && s < w) ? x[((n * h + r) * w + s) * c + ch] : (T)(-CUDART_INF_F);
"""

_MAX_POOL = (
    (
        "raw T x, int32 h, int32 w, int32 c, int32 oh, int32 ow, int32 kh, int32 kw, int32 sh, int32 sw, "
        "int32 top, int32 left",
        "T y",
    ),
    _index("oh", "ow", "p", "q")
    + """
    T m = (T)0;
    for (int a = 0; a < kh; ++a) {
        for (int b = 0; b < kw; ++b) {"""
    + _WINDOW_VALUE
    + """
            // maximum(m, v): NaN wins, as numpy's and cupy's maximum
            if ((a == 0 && b == 0) || (m == m && (v != v || v > m))) m = v;
        }
    }
    y = m;
""",
)


def max_pool(x: Any, g: Any) -> Any:
    """Max over each window of a PoolGeometry ``g``, padded cells -inf, as one kernel."""
    xp = _xp(x)
    n, h, w, c = x.shape
    y = xp.empty((n, g.h.out, g.w.out, c), dtype=x.dtype)
    args = (h, w, c, g.h.out, g.w.out, g.kh, g.kw, g.sh, g.sw, g.h.before, g.w.before)
    return _kernel(xp, "max_pool")(xp.ascontiguousarray(x), *args, y)


_MAX_POOL_GRAD = (
    (
        "raw T x, raw T y, raw T gy, int32 h, int32 w, int32 c, int32 oh, int32 ow, int32 kh, int32 kw, "
        "int32 sh, int32 sw, int32 top, int32 left",
        "T gx",
    ),
    _index("h", "w")
    + """
    const long long p = (row + top) / sh, q = (col + left) / sw;
    const int ta = (int)(row + top - p * sh), tb = (int)(col + left - q * sw);
    if (ta >= kh || tb >= kw || p >= oh || q >= ow) {
        gx = (T)0;  // in no window
    } else {
        const long long o = ((n * oh + p) * ow + q) * c + ch;
        const T target = y[o];
        bool taken = false;  // an earlier tap (row-major) of this window holds the maximum
        for (int a = 0; a <= ta && !taken; ++a) {
            for (int b = 0; b < kw && !(a == ta && b == tb); ++b) {"""
    + _WINDOW_VALUE
    + """
                if (v == target) taken = true;
            }
        }
        // as the generic code: the last tap takes what no earlier one took (y may be NaN)
        const bool last = kh * kw > 1 && ta == kh - 1 && tb == kw - 1;
        const bool wins = !taken && (last || x[i] == target);
        gx = gy[o] * (T)(wins ? 1 : 0);
    }
""",
)


def max_pool_grad(gy: Any, y: Any, x: Any, g: Any) -> Any:
    """The max-pool input gradient (windows must not overlap: sh >= kh, sw >= kw), as one kernel."""
    xp = _xp(x)
    n, h, w, c = x.shape
    gx = xp.empty(x.shape, dtype=gy.dtype)
    args = (h, w, c, g.h.out, g.w.out, g.kh, g.kw, g.sh, g.sw, g.h.before, g.w.before)
    contiguous = (xp.ascontiguousarray(a) for a in (x, y, gy))
    return _kernel(xp, "max_pool_grad")(*contiguous, *args, gx)


_RELU_GRAD = (("T gy, T y", "T gx"), "gx = gy * (T)(y > (T)0 ? 1 : 0);")


def relu_grad(gy: Any, y: Any) -> Any:
    """gy * (y > 0) in one launch (0 at y == 0, as TF)."""
    return _kernel(_xp(gy), "relu_grad")(gy, y)


_SOURCES = {"pad": _PAD, "max_pool": _MAX_POOL, "max_pool_grad": _MAX_POOL_GRAD, "relu_grad": _RELU_GRAD}
