"""Losses."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..kernels import accumulate
from ..tensor import Tensor, as_tensor


class L2Loss(Function):
    """sum(x**2) / 2, as tf.nn.l2_loss."""

    def forward(self, x: Any) -> Any:
        self.require_float(x)
        self.save(x)
        flat = x.reshape(-1)
        return accumulate.sum_of_squares(flat) * x.dtype.type(0.5)  # blocked dots: see accumulate.py

    def backward(self, gy: Any) -> tuple[Any]:
        (x,) = self.saved
        return (x * gy,)


def l2_loss(x: Tensor) -> Tensor:
    return L2Loss.apply(as_tensor(x))
