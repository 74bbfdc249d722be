"""Every op as a lowercase function over Tensors."""

from .elementwise import add, div, mul, neg, pow, sub
from .linalg import gram, matmul
from .loss import l2_loss
from .nn import avg_pool, conv2d, max_pool, relu
from .reduce import mean, sum
from .shape import getitem, reshape, transpose

__all__ = [
    "add",
    "avg_pool",
    "conv2d",
    "div",
    "getitem",
    "gram",
    "l2_loss",
    "matmul",
    "max_pool",
    "mean",
    "mul",
    "neg",
    "pow",
    "relu",
    "reshape",
    "sub",
    "sum",
    "transpose",
]
