"""Reductions: sum (and mean built on it)."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor, as_tensor


def _normalize_axes(axis: int | tuple[int, ...] | None, shape: tuple[int, ...], dtype: Any) -> tuple[int, ...]:
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"Sum: axis {a} is out of range (inputs: {tuple(shape)} {dtype})")
    return tuple(sorted(a % ndim for a in axes))


class Sum(Function):
    def __init__(self, axis: int | tuple[int, ...] | None, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x: Any) -> Any:
        self.axes = _normalize_axes(self.axis, x.shape, x.dtype)
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims, dtype=x.dtype)  # int32 stays int32, as every op keeps

    def backward(self, gy: Any) -> tuple[Any]:
        if not self.keepdims:
            kept = list(gy.shape)
            for a in self.axes:
                kept.insert(a, 1)
            gy = gy.reshape(kept)
        # a contiguous copy, not a read-only broadcast view: a leaf may keep it as .grad
        return (get_array_module(gy).broadcast_to(gy, self.in_shape).copy(),)


def sum(x: Tensor, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Sum.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def mean(x: Tensor, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: needs a float dtype, its result would be rounded (inputs: {x.shape} {x.dtype})")
    count = 1
    for a in _normalize_axes(axis, x.shape, x.dtype):
        count *= x.shape[a]
    return sum(x, axis=axis, keepdims=keepdims) / float(count)
