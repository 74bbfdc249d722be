"""minigrad: a small reverse-mode autodiff engine over numpy or cupy arrays."""

from . import backend, gradcheck, optim, profiler
from .autograd import Function, is_grad_enabled, no_grad
from .ops import (
    add,
    avg_pool,
    conv2d,
    div,
    gram,
    l2_loss,
    matmul,
    max_pool,
    mean,
    mul,
    neg,
    relu,
    reshape,
    sub,
    sum,
    transpose,
)
from .tensor import Tensor, as_tensor

__version__ = "0.1.0"

__all__ = [
    "Function",
    "Tensor",
    "add",
    "as_tensor",
    "avg_pool",
    "backend",
    "conv2d",
    "div",
    "gradcheck",
    "gram",
    "is_grad_enabled",
    "l2_loss",
    "matmul",
    "max_pool",
    "mean",
    "mul",
    "neg",
    "no_grad",
    "optim",
    "profiler",
    "relu",
    "reshape",
    "sub",
    "sum",
    "transpose",
]
