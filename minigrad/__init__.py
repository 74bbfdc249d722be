"""minigrad: a small reverse-mode autodiff engine over numpy or cupy arrays."""

from . import backend, gradcheck, ops, optim, profiler
from .autograd import Function, is_grad_enabled, no_grad
from .ops import *  # noqa: F403 - every op, listed once in ops.__all__
from .tensor import Tensor, as_tensor

__version__ = "0.2.0"  # of the whole distribution (setup.cfg reads it here; vgg and the states too)

__all__ = [
    "Function",
    "Tensor",
    "as_tensor",
    "backend",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "ops",
    "optim",
    "profiler",
]
__all__ += ops.__all__  # every op, from the one list of them
