"""The numpy fast paths against the general ones: shifted-GEMM conv (several row chunks, odd
shapes, both paddings) against im2col, and the scipy-BLAS matmul on every operand layout."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.kernels import blas, conv, conv_taps


@pytest.mark.parametrize(
    "shape, kernel, padding",
    [((2, 7, 9, 16), (3, 3, 16, 17), "SAME"), ((1, 8, 5, 20), (2, 2, 20, 16), "SAME"),
     ((1, 9, 7, 16), (3, 2, 16, 18), "VALID"), ((1, 6, 6, 24), (5, 5, 24, 16), "SAME")],
)  # fmt: skip
@pytest.mark.parametrize("chunk", [7, 16384])
def test_shifted_gemm_conv_equals_im2col(shape, kernel, padding, chunk, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.standard_normal(kernel)
    b = rng.standard_normal(kernel[3])
    g = conv.conv_geometry(x.shape, w.shape, (1, 1), padding)
    gy = rng.standard_normal((shape[0], g.h.out, g.w.out, kernel[3]))
    monkeypatch.setattr(conv_taps, "CHUNK_ROWS", chunk)
    y, gx = conv.conv2d_forward(x, w, g, bias=b), conv.conv2d_backward_input(gy, w, x.shape, g)
    monkeypatch.setattr(conv, "SHIFTED_GEMMS", False)  # force the general path
    np.testing.assert_allclose(y, conv.conv2d_forward(x, w, g, bias=b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, conv.conv2d_backward_input(gy, w, x.shape, g), rtol=1e-12, atol=1e-12)


def _layouts(m: np.ndarray) -> list[np.ndarray]:
    """The same matrix C-ordered, Fortran-ordered and as a strided (neither) view."""
    wide = np.zeros((m.shape[0], 2 * m.shape[1]), dtype=m.dtype)
    wide[:, ::2] = m
    return [np.ascontiguousarray(m), np.asfortranarray(m), wide[:, ::2]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_matmul_on_every_layout(dtype) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 7)).astype(dtype), rng.standard_normal((7, 3)).astype(dtype)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    for a_ in _layouts(a):
        for b_ in _layouts(b):
            got = blas.matmul(a_, b_)
            assert got.shape == (5, 3) and got.dtype == dtype and got.flags.c_contiguous
            np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_blas_dot_and_fallbacks() -> None:
    x = np.arange(5, dtype=np.float32)
    assert blas.dot(x, x) == np.float32(30) and isinstance(blas.dot(x, x), np.float32)
    ints = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(blas.matmul(ints, ints.T), ints @ ints.T)  # not BLAS: plain @


class _FakeCublas:
    """cupy.cublas.gemm's documented contract, out = alpha * op(a) @ op(b) + beta * out, on numpy."""

    calls = 0

    @classmethod
    def gemm(cls, transa, transb, a, b, out=None, alpha=1.0, beta=0.0):
        cls.calls += 1
        op_a = a.T if transa == "T" else a
        op_b = b.T if transb == "T" else b
        out[...] = alpha * (op_a @ op_b) + beta * out
        return out


def test_the_cupy_gemm_call_computes_the_same_conv(monkeypatch) -> None:
    """The cupy path's only own piece, its cuBLAS call, checked against its documented contract."""
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 7, 9, 5)), rng.standard_normal((3, 2, 5, 6)), rng.standard_normal(6)
    g = conv.conv_geometry(x.shape, w.shape, (1, 1), "SAME")
    gy = rng.standard_normal((2, 7, 9, 6))
    expected = conv.conv2d_forward(x, w, g, bias=b), conv.conv2d_backward_input(gy, w, x.shape, g)
    monkeypatch.setattr(conv_taps, "cupy_submodule", lambda name: _FakeCublas)
    monkeypatch.setattr(conv_taps, "_accumulator", lambda x, rows: (conv_taps._gemm_accumulate_cupy, rows))
    got = conv.conv2d_forward(x, w, g, bias=b), conv.conv2d_backward_input(gy, w, x.shape, g)
    assert _FakeCublas.calls == 2 * 2 * 6  # two images, forward and backward, six taps each
    for e, o in zip(expected, got):
        np.testing.assert_allclose(o, e, rtol=1e-12, atol=1e-12)


def test_l2_loss_of_16m_float32_values_is_accurate(xp) -> None:
    # one float32 BLAS dot over 2^24 positive values is off by ~4e-5; blocked dots summed in float64
    # (minigrad/kernels/accumulate.py) by ~2e-9, cuBLAS's tree reduction by less than 1e-7
    x = np.abs(np.random.default_rng(3).standard_normal(1 << 24, dtype=np.float32)) + np.float32(0.5)
    exact = sum(float(np.dot(part, part)) for part in np.split(x.astype(np.float64), 64)) / 2
    loss = mg.l2_loss(mg.Tensor(xp.asarray(x).reshape(64, 512, 512)))
    assert loss.dtype == np.float32
    assert abs(float(loss.item()) - exact) / exact < 1e-7
