"""Elementwise arithmetic with NumPy broadcasting."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, describe
from ..tensor import Tensor, as_tensor, is_scalar, scalar_like


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back down to ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


class _Binary(Function):
    def check(self, a: Any, b: Any) -> None:
        if a.dtype != b.dtype:
            raise self.fail("expected inputs of one dtype", a, b, error=TypeError)
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise self.fail("shapes do not broadcast", a, b) from None

    def forward(self, a: Any, b: Any) -> Any:
        self.check(a, b)
        self.shapes = a.shape, b.shape
        return self.compute(a, b)

    def compute(self, a: Any, b: Any) -> Any:
        raise NotImplementedError


class Add(_Binary):
    def compute(self, a: Any, b: Any) -> Any:
        return a + b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        sa, sb = self.shapes
        return (
            unbroadcast(gy, sa) if self.needs_input_grad[0] else None,
            unbroadcast(gy, sb) if self.needs_input_grad[1] else None,
        )


class Sub(_Binary):
    def compute(self, a: Any, b: Any) -> Any:
        return a - b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        sa, sb = self.shapes
        return (
            unbroadcast(gy, sa) if self.needs_input_grad[0] else None,
            unbroadcast(-gy, sb) if self.needs_input_grad[1] else None,
        )


class Mul(_Binary):
    def compute(self, a: Any, b: Any) -> Any:
        # each input's gradient needs only the other input
        self.save(b if self.needs_input_grad[0] else None, a if self.needs_input_grad[1] else None)
        return a * b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        b, a = self.saved
        sa, sb = self.shapes
        return (
            unbroadcast(gy * b, sa) if self.needs_input_grad[0] else None,
            unbroadcast(gy * a, sb) if self.needs_input_grad[1] else None,
        )


class Div(_Binary):
    def compute(self, a: Any, b: Any) -> Any:
        self.require_float(a, b)
        y = a / b
        self.save(b, y if self.needs_input_grad[1] else None)
        return y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        b, y = self.saved
        sa, sb = self.shapes
        ga = gy / b
        gb = unbroadcast(-ga * y, sb) if self.needs_input_grad[1] else None
        return (unbroadcast(ga, sa) if self.needs_input_grad[0] else None, gb)


class _Constant(Function):
    """x op c for a host constant c, a numpy scalar of x's dtype (scalar_like): c is never an array,
    so on cupy the op is one kernel with c as its argument, and only x takes a gradient."""

    def __init__(self, c: Any) -> None:
        self.c = c

    def fail(self, message: str, *arrays: Any, error: type = ValueError) -> Exception:
        return error(f"{self.name}: {message} (inputs: {describe(arrays)} and the constant {self.c} {self.c.dtype})")


class AddConstant(_Constant):
    def forward(self, x: Any) -> Any:
        return x + self.c

    def backward(self, gy: Any) -> tuple[Any]:
        return (gy,)


class SubConstant(_Constant):
    def forward(self, x: Any) -> Any:
        return x - self.c

    def backward(self, gy: Any) -> tuple[Any]:
        return (gy,)


class ConstantSub(_Constant):
    def forward(self, x: Any) -> Any:
        return self.c - x

    def backward(self, gy: Any) -> tuple[Any]:
        return (-gy,)


class MulConstant(_Constant):
    def forward(self, x: Any) -> Any:
        return x * self.c

    def backward(self, gy: Any) -> tuple[Any]:
        return (gy * self.c,)


class DivConstant(_Constant):
    def forward(self, x: Any) -> Any:
        self.require_float(x)
        return x / self.c

    def backward(self, gy: Any) -> tuple[Any]:
        return (gy / self.c,)  # not gy * (1 / c): the same rounding as Div's


class ConstantDiv(_Constant):
    def forward(self, x: Any) -> Any:
        self.require_float(x)
        y = self.c / x
        self.save(x, y)
        return y

    def backward(self, gy: Any) -> tuple[Any]:
        x, y = self.saved
        return (-(gy / x) * y,)  # d(c/x)/dx = -c/x**2 = -(1/x) * y, computed as Div computes it


class Neg(Function):
    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, gy: Any) -> tuple[Any]:
        return (-gy,)


class Pow(Function):
    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x: Any) -> Any:
        if not (self.exponent.is_integer() and self.exponent >= 0):
            self.require_float(x)
        self.save(x)
        return x ** x.dtype.type(self.exponent)

    def backward(self, gy: Any) -> tuple[Any]:
        (x,) = self.saved
        c = x.dtype.type(self.exponent)
        return (gy * c * x ** (c - 1),)


def _pair(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a, op=op)
    if isinstance(b, Tensor):
        return as_tensor(a, like=b, op=op), b
    return Tensor(a), Tensor(b)


def _binary(op: str, a: Any, b: Any, arrays: type, tensor_first: type, constant_first: type) -> Tensor:
    """The op over two arrays, or with a scalar operand kept on the host as the op's constant."""
    if isinstance(a, Tensor) and is_scalar(b):
        return tensor_first.apply(a, c=scalar_like(b, a, op))
    if isinstance(b, Tensor) and is_scalar(a):
        return constant_first.apply(b, c=scalar_like(a, b, op))
    return arrays.apply(*_pair(a, b, op))


def add(a: Any, b: Any) -> Tensor:
    return _binary("Add", a, b, Add, AddConstant, AddConstant)


def sub(a: Any, b: Any) -> Tensor:
    return _binary("Sub", a, b, Sub, SubConstant, ConstantSub)


def mul(a: Any, b: Any) -> Tensor:
    return _binary("Mul", a, b, Mul, MulConstant, MulConstant)


def div(a: Any, b: Any) -> Tensor:
    return _binary("Div", a, b, Div, DivConstant, ConstantDiv)


def neg(x: Tensor) -> Tensor:
    return Neg.apply(as_tensor(x))


def pow(x: Tensor, exponent: float) -> Tensor:  # noqa: A001 - mirrors the operator
    if isinstance(exponent, Tensor) or not np.isscalar(exponent):
        raise TypeError(f"Pow: the exponent must be a Python scalar, got {type(exponent).__name__}")
    return Pow.apply(as_tensor(x), exponent=float(exponent))
