"""Shape ops: reshape, transpose, basic slicing."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor, as_tensor


class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise self.fail(f"cannot reshape to {self.shape}", x) from None

    def backward(self, gy: Any) -> tuple[Any]:
        return (gy.reshape(self.in_shape),)


class Transpose(Function):
    def __init__(self, axes: tuple[int, ...] | None) -> None:
        self.axes = axes

    def forward(self, x: Any) -> Any:
        axes = self.axes if self.axes is not None else tuple(reversed(range(x.ndim)))
        if sorted(a % x.ndim if -x.ndim <= a < x.ndim else -1 for a in axes) != list(range(x.ndim)):
            raise self.fail(f"axes {axes} are not a permutation of {x.ndim} dimensions", x)
        self.axes = tuple(a % x.ndim for a in axes)
        return x.transpose(self.axes)

    def backward(self, gy: Any) -> tuple[Any]:
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (gy.transpose(inverse),)


def _check_basic_index(index: Any) -> tuple[Any, ...]:
    index = index if isinstance(index, tuple) else (index,)
    for part in index:
        if not (part is None or part is Ellipsis or isinstance(part, (int, slice, np.integer))):
            raise TypeError(
                f"GetItem: only basic indexing (ints, slices, None, ...) is supported, got {type(part).__name__}"
            )
    return index


class GetItem(Function):
    def __init__(self, index: tuple[Any, ...]) -> None:
        self.index = index

    def forward(self, x: Any) -> Any:
        self.in_shape, self.in_dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as exc:
            raise self.fail(f"index {self.index} is out of range ({exc})", x) from None

    def backward(self, gy: Any) -> tuple[Any]:
        gx = get_array_module(gy).zeros(self.in_shape, dtype=self.in_dtype)
        gx[self.index] = gy
        return (gx,)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(as_tensor(x), shape=tuple(int(s) for s in shape))


def transpose(x: Tensor, *axes: Any) -> Tensor:
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return Transpose.apply(as_tensor(x), axes=tuple(int(a) for a in axes) if axes else None)


def getitem(x: Tensor, index: Any) -> Tensor:
    return GetItem.apply(as_tensor(x), index=_check_basic_index(index))
