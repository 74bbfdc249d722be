"""Matrix multiplication."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..kernels import blas
from ..tensor import Tensor, as_tensor
from .elementwise import unbroadcast


class MatMul(Function):
    """a @ b for 2-D or batched (..., m, k) @ (..., k, n) inputs with broadcast batch dims."""

    def forward(self, a: Any, b: Any) -> Any:
        if a.ndim < 2 or b.ndim < 2:
            raise self.fail("expected inputs of at least 2 dimensions", a, b)
        if a.shape[-1] != b.shape[-2]:
            raise self.fail(f"inner dimensions differ ({a.shape[-1]} vs {b.shape[-2]})", a, b)
        if a.dtype != b.dtype:
            raise self.fail("expected inputs of one dtype", a, b, error=TypeError)
        self.save(b if self.needs_input_grad[0] else None, a if self.needs_input_grad[1] else None)
        self.shapes = a.shape, b.shape
        return blas.matmul(a, b)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        b, a = self.saved
        sa, sb = self.shapes
        ga = unbroadcast(blas.matmul(gy, b.swapaxes(-1, -2)), sa) if self.needs_input_grad[0] else None
        gb = unbroadcast(blas.matmul(a.swapaxes(-1, -2), gy), sb) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    if isinstance(a, Tensor):
        b = as_tensor(b, like=a, op="MatMul")
    else:
        a = as_tensor(a, like=b if isinstance(b, Tensor) else None, op="MatMul")
    return MatMul.apply(as_tensor(a), as_tensor(b))


class Gram(Function):
    """x^T x for a 2-D x (M, C): one GEMM each way instead of a transpose, a matmul and a sum of two paths."""

    def forward(self, x: Any) -> Any:
        if x.ndim != 2:
            raise self.fail("expected a 2-D input (rows, channels)", x)
        self.save(x)
        return blas.matmul(x.T, x)

    def backward(self, gy: Any) -> tuple[Any]:
        (x,) = self.saved
        return (blas.matmul(x, gy + gy.T),)


def gram(x: Tensor) -> Tensor:
    """x^T @ x, the (C, C) Gram matrix of the rows of a 2-D tensor."""
    return Gram.apply(as_tensor(x))
