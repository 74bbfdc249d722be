"""Windows over a padded NHWC array as strided views (no copies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..backend import get_array_module
from . import fused
from .geometry import Axis


def pad_hw(x: Any, ah: Axis, aw: Axis, value: float = 0.0) -> Any:
    """Pad H and W of an NHWC array; returns x itself when no padding is needed."""
    if not (ah.before or ah.after or aw.before or aw.after):
        return x
    n, h, w, c = x.shape
    xp = get_array_module(x)
    if fused.enabled(xp):
        return fused.pad(x, ah, aw, value)
    out = xp.empty((n, h + ah.before + ah.after, w + aw.before + aw.after, c), dtype=x.dtype)
    _fill_border(out, ah, aw, value)
    out[:, ah.before : ah.before + h, aw.before : aw.before + w, :] = x
    return out


def _fill_border(out: Any, ah: Axis, aw: Axis, value: float) -> None:
    h_end, w_end = out.shape[1] - ah.after, out.shape[2] - aw.after
    out[:, : ah.before] = value
    out[:, h_end:] = value
    out[:, :, : aw.before] = value
    out[:, :, w_end:] = value


def crop_hw(xpad: Any, ah: Axis, aw: Axis, h: int, w: int) -> Any:
    return xpad[:, ah.before : ah.before + h, aw.before : aw.before + w, :]


def offsets(xpad: Any, kh: int, kw: int, sh: int, sw: int, oh: int, ow: int) -> Iterator[tuple[int, int, Any]]:
    """For every kernel tap (i, j), row-major, the strided view of the cells it sees."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, xpad[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]
