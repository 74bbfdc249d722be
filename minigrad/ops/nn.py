"""Neural-network ops: conv2d, max_pool, avg_pool, relu (TensorFlow semantics, NHWC/HWIO)."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import get_array_module
from ..kernels import conv as conv_k
from ..kernels import pool as pool_k
from ..kernels.geometry import pair
from ..tensor import Tensor, as_tensor

FLOATS = ("float16", "float32", "float64")


class Conv2d(Function):
    def __init__(self, stride: tuple[int, int], padding: str) -> None:
        self.stride, self.padding = stride, padding

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        if x.ndim != 4 or w.ndim != 4:
            raise self.fail("expected x as NHWC (4-D) and w as HWIO (4-D)", x, w)
        if b is not None and (b.shape != (w.shape[3],) or b.dtype != w.dtype):
            raise self.fail(f"expected a bias of shape ({w.shape[3]},) and w's dtype", x, w, b)
        if x.shape[3] != w.shape[2]:
            raise self.fail(f"x has {x.shape[3]} channels but w expects {w.shape[2]}", x, w)
        if x.dtype != w.dtype or x.dtype.name not in FLOATS:
            raise self.fail("expected x and w of one float dtype", x, w, error=TypeError)
        g = conv_k.conv_geometry(x.shape, w.shape, self.stride, self.padding)
        if g.h.out < 1 or g.w.out < 1:
            raise self.fail(f"a {w.shape[0]}x{w.shape[1]} VALID kernel is larger than the image", x, w)
        self.geometry, self.x_shape, self.w_shape = g, x.shape, w.shape
        # x's gradient needs only w, w's gradient needs only x: keep no more than asked for
        self.save(w if self.needs_input_grad[0] else None, x if self.needs_input_grad[1] else None)
        return conv_k.conv2d_forward(x, w, g, bias=b)  # the bias is added inside, in the same pass

    def backward(self, gy: Any) -> tuple[Any, ...]:
        w, x = self.saved
        need = self.needs_input_grad
        gx = conv_k.conv2d_backward_input(gy, w, self.x_shape, self.geometry) if need[0] else None
        gw = conv_k.conv2d_backward_weight(x, gy, self.w_shape, self.geometry) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (gy.sum(axis=(0, 1, 2)) if need[2] else None)


class _Pool(Function):
    def __init__(self, size: tuple[int, int], stride: tuple[int, int], padding: str) -> None:
        self.size, self.stride, self.padding = size, stride, padding

    def setup(self, x: Any) -> pool_k.PoolGeometry:
        if x.ndim != 4 or x.dtype.name not in FLOATS:
            raise self.fail("expected a float NHWC (4-D) input", x)
        g = pool_k.pool_geometry(x.shape, self.size, self.stride, self.padding)
        if g.h.out < 1 or g.w.out < 1:
            raise self.fail(f"a {self.size} VALID window is larger than the image", x)
        self.geometry, self.x_shape = g, x.shape
        return g


class MaxPool(_Pool):
    def forward(self, x: Any) -> Any:
        y = pool_k.max_pool_forward(x, self.setup(x))
        # x (usually the preceding relu's saved output, so no extra memory) and y locate the winners
        self.save(y, x)
        return y

    def backward(self, gy: Any) -> tuple[Any]:
        y, x = self.saved
        return (pool_k.max_pool_backward(gy, y, x, self.geometry),)


class AvgPool(_Pool):
    def forward(self, x: Any) -> Any:
        self.require_float(x)
        y, counts = pool_k.avg_pool_forward(x, self.setup(x))
        self.save(counts)
        return y

    def backward(self, gy: Any) -> tuple[Any]:
        return (pool_k.avg_pool_backward(gy, self.saved[0], self.x_shape, self.geometry),)


class ReLU(Function):
    # Keeps its output, not a boolean mask: in VGG most relu outputs are kept anyway (by the Gram
    # matrices, the pools), where a mask would be a quarter more memory on top; counted over
    # the VGG-19 layers at 512x512, masks would cost ~25 MB more than they save.
    def forward(self, x: Any) -> Any:
        y = get_array_module(x).maximum(x, x.dtype.type(0))
        self.save(y)  # the output, not the input: the next op usually keeps it alive anyway
        return y

    def backward(self, gy: Any) -> tuple[Any]:
        (y,) = self.saved
        return (gy * (y > 0),)  # y > 0 is False at exactly 0: gradient 0 there, as TF


def conv2d(
    x: Tensor, w: Tensor, stride: int | tuple[int, int] = 1, padding: str = "SAME", bias: Tensor | None = None
) -> Tensor:
    """TensorFlow's conv2d: x NHWC, w HWIO (KH, KW, C, O); ``bias`` (O,) is added in the same pass."""
    _check_padding("conv2d", padding)
    inputs = (as_tensor(x), as_tensor(w)) + (() if bias is None else (as_tensor(bias),))
    return Conv2d.apply(*inputs, stride=pair(stride, "conv2d stride"), padding=padding)


def max_pool(
    x: Tensor, size: int | tuple[int, int] = 2, stride: int | tuple[int, int] = 2, padding: str = "SAME"
) -> Tensor:
    _check_padding("max_pool", padding)
    return MaxPool.apply(
        as_tensor(x), size=pair(size, "max_pool size"), stride=pair(stride, "max_pool stride"), padding=padding
    )


def avg_pool(
    x: Tensor, size: int | tuple[int, int] = 2, stride: int | tuple[int, int] = 2, padding: str = "SAME"
) -> Tensor:
    _check_padding("avg_pool", padding)
    return AvgPool.apply(
        as_tensor(x), size=pair(size, "avg_pool size"), stride=pair(stride, "avg_pool stride"), padding=padding
    )


def relu(x: Tensor) -> Tensor:
    return ReLU.apply(as_tensor(x))


def _check_padding(op: str, padding: str) -> None:
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', got {padding!r}")
