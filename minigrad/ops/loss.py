"""Losses."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..kernels import blas
from ..tensor import Tensor, as_tensor


class L2Loss(Function):
    """sum(x**2) / 2, as tf.nn.l2_loss."""

    def forward(self, x: Any) -> Any:
        self.require_float(x)
        self.save(x)
        flat = x.reshape(-1)
        return blas.dot(flat, flat) * x.dtype.type(0.5)  # a dot product: one pass, BLAS-accumulated

    def backward(self, gy: Any) -> tuple[Any]:
        (x,) = self.saved
        return (x * gy,)


def l2_loss(x: Tensor) -> Tensor:
    return L2Loss.apply(as_tensor(x))
