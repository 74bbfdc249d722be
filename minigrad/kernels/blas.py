"""Matrix products on numpy arrays through one BLAS: scipy's.

numpy and scipy each bundle their own OpenBLAS with its own thread pool. The shifted-GEMM
convolution needs scipy's (BLAS's beta=1 accumulation, which numpy's matmul lacks); if the
other products went through numpy's, the idle pool's threads spin while the other works and
the two fight over the cores (measured: a conv GEMM plus a Gram matrix took 36 ms
interleaved against 18 ms apart). So every 2-D float product of the engine comes here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.blas import get_blas_funcs

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _blas_ok(*arrays: Any) -> bool:
    return all(isinstance(a, np.ndarray) and a.dtype in _FLOATS and a.size > 0 for a in arrays) and (
        len({a.dtype for a in arrays}) == 1
    )


def _transposed_operand(m: np.ndarray) -> tuple[np.ndarray, int]:
    """m^T as (Fortran-ordered array, trans flag) without copying when m is contiguous either way."""
    if m.flags.c_contiguous:
        return m.T, 0
    if m.flags.f_contiguous:
        return m, 1
    return np.ascontiguousarray(m).T, 0


def matmul(a: Any, b: Any) -> Any:
    """a @ b; 2-D float numpy operands go through scipy's BLAS, anything else through ``@``."""
    if a.ndim != 2 or b.ndim != 2 or not _blas_ok(a, b):
        return a @ b
    # (a @ b)^T = b^T a^T computed in Fortran order is a @ b in C order: no copies either way
    gemm = get_blas_funcs("gemm", (a, b))
    bt, trans_b = _transposed_operand(b)
    at, trans_a = _transposed_operand(a)
    return gemm(1.0, bt, at, trans_a=trans_b, trans_b=trans_a).T


def dot(x: Any, y: Any) -> Any:
    """The inner product of two equal-length 1-D arrays."""
    if not (x.ndim == y.ndim == 1 and _blas_ok(x, y)):
        return x @ y
    return x.dtype.type(get_blas_funcs("dot", (x, y))(x, y))
