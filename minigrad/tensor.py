"""Tensor: an array (numpy or cupy) plus what reverse mode needs."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import autograd
from .backend import get_array_module, is_array, to_numpy


class Tensor:
    """A numpy or cupy array that can record the ops applied to it.

    ``requires_grad=True`` marks a leaf whose gradient ``backward()`` accumulates into
    ``.grad``; it needs a float (or complex) dtype, a TypeError otherwise. Arithmetic with Python or
    numpy scalars keeps the tensor's dtype, and the scalar on the host as the op's constant: it never
    becomes an array.

    Nothing is ever rounded to an integer dtype: a float constant with an integer tensor, and an op
    whose result is not an integer (division, mean, a fractional or negative power, l2_loss,
    avg_pool) on one, raise a TypeError naming the op. Exact integer arithmetic (+, -, *, sums,
    shapes) works.
    """

    __array_priority__ = 1000  # numpy_array + tensor -> Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if not is_array(data):
            data = np.asarray(data)
        if requires_grad and data.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: requires_grad=True needs a float dtype, got {data.dtype} (shape {tuple(data.shape)}); "
                "a gradient with respect to integers or booleans is not defined (e.g. astype float32)"
            )
        self.data = data
        self.requires_grad = bool(requires_grad)
        self.grad: Any = None
        self._ctx: autograd.Function | None = None

    # ---- array facts -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def xp(self) -> Any:
        return get_array_module(self.data)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{grad})"

    def numpy(self) -> np.ndarray:
        return to_numpy(self.data)

    def item(self) -> float:
        return float(self.data.reshape(-1)[0]) if self.size == 1 else self.data.item()

    def detach(self) -> Tensor:
        """The same array as a constant: no graph, no gradient flows back through it."""
        return Tensor(self.data)

    # ---- autograd ----------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require a gradient "
                "(no input had requires_grad=True, or it was made under no_grad)"
            )
        autograd.backward(self, grad)

    def _accumulate(self, g: Any) -> None:
        if self.requires_grad:
            self.grad = g if self.grad is None else self.grad + g

    def zero_grad(self) -> None:
        self.grad = None

    # ---- operators ---------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, exponent: float) -> Tensor:
        return _ops.pow(self, exponent)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, *shape)

    def transpose(self, *axes: Any) -> Tensor:
        return _ops.transpose(self, *axes)

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy's name
        return _ops.transpose(self)


_KINDS = "biufc"  # bool < integers < floats < complex: a constant may not be of a later kind than the tensor


def is_scalar(value: Any) -> bool:
    """A Python or numpy scalar: ops keep it on the host (see scalar_like), never as an array."""
    return isinstance(value, (int, float, complex, np.number, np.bool_))


def _check_kind(natural: np.dtype, like: Tensor, op: str) -> None:
    if natural.kind in _KINDS and _KINDS.index(natural.kind) > _KINDS.index(like.dtype.kind):
        wider = "a complex" if natural.kind == "c" else "a float"
        raise TypeError(
            f"{op}: a {natural} constant would be rounded to the tensor's {like.dtype}; "
            f"give the tensor {wider} dtype (e.g. with astype)"
        )


def scalar_like(value: Any, like: Tensor, op: str = "as_tensor") -> Any:
    """A scalar as a numpy scalar of ``like``'s dtype, rounded as an array of that dtype would be.

    numpy and cupy apply ``x * c`` with such a c directly (on cupy a kernel argument, no 0-d array
    filled first) and keep x's dtype; the kinds are checked as in as_tensor.
    """
    if isinstance(value, np.generic):
        value = value.item()  # np.float64(2) * float32 tensor stays float32, like 2.0 does
    _check_kind(np.dtype(type(value)), like, op)
    return like.dtype.type(value)


def as_tensor(value: Any, like: Tensor | None = None, op: str = "as_tensor") -> Tensor:
    """Wrap a constant; Python scalars, numpy scalars and lists take the dtype and backend of ``like``.

    float32 * 2.5 stays float32 (as NEP 50 has it for Python scalars); a constant of a later kind
    than the tensor (int32 * 2.5, int32 + [0.5, 1.5]) is a TypeError naming ``op``, never truncated.
    """
    if isinstance(value, Tensor):
        return value
    if like is None or is_array(value):
        return Tensor(value)
    if is_scalar(value):
        return Tensor(like.xp.asarray(scalar_like(value, like, op)))
    _check_kind(np.asarray(value).dtype, like, op)
    return Tensor(like.xp.asarray(value, dtype=like.dtype))


from . import ops as _ops  # noqa: E402 - ops build on Tensor, Tensor's operators call ops
