"""Stride-1 convolution as KH*KW shifted GEMMs over one padded NHWC buffer (numpy or cupy).

Flatten the padded image to rows of C channels: (HP*WP, C). The tap (i, j) of output
pixel (h, w) reads row (h + i)*WP + (w + j), so over the "wide" output grid p = h*WP + w
every tap is one contiguous row slice, starting at i*WP + j. The output is then

    out_wide[p] = bias + sum_{i,j} xflat[p + i*WP + j] @ W[i, j]

nine (KH*KW) GEMMs that BLAS accumulates in place (beta = 1), with no im2col copy. The
last WP - OW columns of each wide row straddle the padding and are dropped by returning
a strided view. The input gradient of a stride-1 convolution is itself a stride-1
convolution of the output gradient with the kernel flipped in H and W and its in/out
channels swapped, so backward reuses the same routine.

The one backend-specific piece is "acc += a @ tap" in place: scipy's BLAS with beta = 1 on
numpy, cupy.cublas.gemm with beta = 1 on cupy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.blas import get_blas_funcs

from ..backend import cupy_submodule, get_array_module
from .geometry import Axis
from .window import pad_hw


def conv_stride1(x: Any, w: Any, ah: Axis, aw: Axis, bias: Any = None, flip: bool = False) -> Any:
    """(N, OH, OW, O) as a strided view of the wide result: x (N, H, W, C), w (KH, KW, C, O).

    With ``flip`` the kernel used is w[KH-1-i, KW-1-j].T over channels (the input-gradient
    kernel), read in place through BLAS's transpose flag instead of copied.
    """
    n = x.shape[0]
    o = w.shape[2] if flip else w.shape[3]
    wp = x.shape[2] + aw.before + aw.after
    rows = ah.out * wp
    gemm_acc, chunk = _accumulator(x, rows)
    out = get_array_module(x).empty((n, rows, o), dtype=x.dtype)
    # one more zero row at the bottom: the last taps' row slices run up to KW-1 rows past the grid
    xpad = pad_hw(x, ah._replace(after=ah.after + 1), aw)
    for b in range(n):
        xflat = xpad[b].reshape(-1, xpad.shape[3])
        acc = out[b]
        if bias is not None:
            acc[...] = bias
        # without a bias the first GEMM overwrites (beta = 0: BLAS never reads the uninitialised acc)
        first_beta = 0.0 if bias is None else 1.0
        for r0 in range(0, rows, chunk):
            _accumulate_taps(gemm_acc, acc[r0 : r0 + chunk], xflat, w, (r0, wp), flip, first_beta)
    return out.reshape(n, ah.out, wp, o)[:, :, : aw.out, :]


# Rows of output per pass over the taps on the CPU: a 16384 x 64 float32 accumulator stays in
# cache across the nine GEMMs that add into it (measured 12.1 ms against 13.3 ms for conv1_2 at
# 256x256, and 52 against 68 ms at 512x512; wider layers do not care).
CHUNK_ROWS = 16384


def _accumulator(x: Any, rows: int) -> tuple[Any, int]:
    """The in-place GEMM of x's backend and the rows to do per pass (a GPU wants few, large GEMMs)."""
    if isinstance(x, np.ndarray):
        return _gemm_accumulate_numpy, CHUNK_ROWS
    return _gemm_accumulate_cupy, rows


def _accumulate_taps(
    gemm_acc: Any, acc: Any, xflat: Any, w: Any, r0_wp: tuple[int, int], flip: bool, first_beta: float
) -> None:
    kh, kw = w.shape[:2]
    rows = acc.shape[0]
    r0, wp = r0_wp
    beta = first_beta
    for i in range(kh):
        for j in range(kw):
            start = r0 + i * wp + j
            tap = w[kh - 1 - i, kw - 1 - j] if flip else w[i, j]
            gemm_acc(acc, xflat[start : start + rows], tap, flip, beta)
            beta = 1.0


def _gemm_accumulate_numpy(acc: Any, a: Any, tap: Any, transpose: bool, beta: float = 1.0) -> None:
    """acc = a @ (tap.T if transpose else tap) + beta * acc, in place, for C-ordered numpy arrays."""
    gemm = get_blas_funcs("gemm", (a, tap))
    # in Fortran order acc is acc.T: acc.T += tap.T @ a.T, every operand a view, nothing copied
    acc_t = gemm(1.0, tap.T, a.T, beta=beta, c=acc.T, overwrite_c=1, trans_a=int(transpose))
    if not np.shares_memory(acc_t, acc):  # the wrapper had to copy: keep the result anyway
        acc[...] = acc_t.T


def _gemm_accumulate_cupy(acc: Any, a: Any, tap: Any, transpose: bool, beta: float = 1.0) -> None:
    """acc = a @ (tap.T if transpose else tap) + beta * acc, in place, with cuBLAS."""
    # cupy.cublas.gemm: out = alpha * op(a) @ op(b) + beta * out, C-ordered operands taken as they are
    cupy_submodule("cublas").gemm("N", "T" if transpose else "N", a, tap, out=acc, beta=beta)


def input_grad_axis(ax: Axis, size: int, k: int) -> Axis:
    """Padding of the output gradient so that a stride-1 conv gives the input gradient."""
    return Axis(size, k - 1 - ax.before, size - ax.out + ax.before)


def conv_stride1_input_grad(gy: Any, w: Any, ah: Axis, aw: Axis, h: int, wd: int) -> Any:
    kh, kw = w.shape[:2]
    return conv_stride1(gy, w, input_grad_axis(ah, h, kh), input_grad_axis(aw, wd, kw), flip=True)
