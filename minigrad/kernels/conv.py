"""2-D convolution (cross-correlation, as TensorFlow) on NHWC arrays with HWIO kernels.

The general path gathers the KH*KW taps into an im2col matrix (N*OH*OW, KH*KW*C)
and does one GEMM; its backward scatters tap by tap, so no loop ever runs over pixels.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..backend import get_array_module
from . import blas
from .conv_taps import conv_stride1, conv_stride1_input_grad
from .geometry import Axis, axis_geometry
from .window import crop_hw, offsets, pad_hw

# Every stride-1 conv but 1x1 takes the shifted GEMMs: working in cache-sized row chunks they win even for
# VGG's conv1_1 (3 -> 64 channels, 256x256: forward 2.4 ms against im2col's 4.2 ms, input gradient
# 5.3 against 6.9 ms). Tests and the ablation benchmark switch this off to run the im2col path.
SHIFTED_GEMMS = True


class ConvGeometry(NamedTuple):
    h: Axis
    w: Axis
    sh: int
    sw: int


def conv_geometry(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int], padding: str
) -> ConvGeometry:
    _, h, w, _ = x_shape
    kh, kw, _, _ = w_shape
    return ConvGeometry(axis_geometry(h, kh, stride[0], padding), axis_geometry(w, kw, stride[1], padding), *stride)


def im2col(x: Any, kh: int, kw: int, g: ConvGeometry) -> Any:
    """(N*OH*OW, KH*KW*C): row = one output pixel, columns ordered (kh, kw, c) like HWIO."""
    xp = get_array_module(x)
    n, c = x.shape[0], x.shape[3]
    xpad = pad_hw(x, g.h, g.w)
    cols = xp.empty((n, g.h.out, g.w.out, kh, kw, c), dtype=x.dtype)
    for i, j, view in offsets(xpad, kh, kw, g.sh, g.sw, g.h.out, g.w.out):
        cols[:, :, :, i, j, :] = view
    return cols.reshape(n * g.h.out * g.w.out, kh * kw * c)


def _use_taps(x: Any, w: Any, g: ConvGeometry) -> bool:
    """Shifted GEMMs for stride 1 (both backends; BLAS's gemm takes float32 and float64)."""
    return g.sh == g.sw == 1 and w.shape[:2] != (1, 1) and SHIFTED_GEMMS and x.dtype in (np.float32, np.float64)


def conv2d_forward(x: Any, w: Any, g: ConvGeometry, bias: Any = None) -> Any:
    kh, kw, c, o = w.shape
    n = x.shape[0]
    if _use_taps(x, w, g):
        return conv_stride1(x, w, g.h, g.w, bias=bias)
    if kh == 1 and kw == 1 and g.sh == 1 and g.sw == 1:
        y = blas.matmul(x.reshape(-1, c), w.reshape(c, o))
    else:
        y = blas.matmul(im2col(x, kh, kw, g), w.reshape(kh * kw * c, o))
    if bias is not None:
        y += bias
    return y.reshape(n, g.h.out, g.w.out, o)


def conv2d_backward_input(gy: Any, w: Any, x_shape: tuple[int, ...], g: ConvGeometry) -> Any:
    xp = get_array_module(gy)
    n, h, wd, c = x_shape
    kh, kw, _, o = w.shape
    if _use_taps(gy, w, g):
        return conv_stride1_input_grad(gy, w, g.h, g.w, h, wd)
    dcols = blas.matmul(gy.reshape(-1, o), w.reshape(kh * kw * c, o).T).reshape(n, g.h.out, g.w.out, kh, kw, c)
    gpad = xp.zeros((n, h + g.h.before + g.h.after, wd + g.w.before + g.w.after, c), dtype=gy.dtype)
    for i, j, view in offsets(gpad, kh, kw, g.sh, g.sw, g.h.out, g.w.out):
        view += dcols[:, :, :, i, j, :]
    return crop_hw(gpad, g.h, g.w, h, wd)


def conv2d_backward_weight(x: Any, gy: Any, w_shape: tuple[int, ...], g: ConvGeometry) -> Any:
    kh, kw, c, o = w_shape
    return blas.matmul(im2col(x, kh, kw, g).T, gy.reshape(-1, o)).reshape(w_shape)
