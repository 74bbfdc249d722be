"""The fused CUDA kernels (minigrad/kernels/fused.py) against the generic array code they replace.

Here their bodies run as host C++ (tests/host_kernels.py) on numpy arrays; on a GPU the cupy test
bodies compare the real kernels with the generic cupy code. Equal to the bit: the same comparisons
and multiplications, ties, NaN and -inf included.
"""

from __future__ import annotations

import numpy as np
import pytest
from host_kernels import HostModule, compiler

from minigrad.kernels import fused, pool, window
from minigrad.kernels.geometry import Axis

# (input shape, window, stride, padding): VGG's 2x2/2 on even and odd sizes, overlapping and
# sparse windows, a 1x1 window, VALID leaving cells out
GEOMETRIES = [
    ((2, 6, 8, 3), 2, 2, "SAME"),
    ((1, 7, 5, 4), 2, 2, "SAME"),
    ((1, 7, 9, 2), 3, 3, "SAME"),
    ((1, 8, 7, 2), 2, 3, "SAME"),
    ((1, 9, 8, 3), 3, 3, "VALID"),
    ((1, 5, 6, 2), 1, 1, "SAME"),
    ((1, 7, 7, 2), 3, 2, "SAME"),  # overlapping: forward only
]


def _ties(shape: tuple[int, ...], dtype, seed: int = 0) -> np.ndarray:
    """Small integers (many ties inside a window), a NaN and a -inf."""
    x = np.random.default_rng(seed).integers(-2, 3, shape).astype(dtype)
    x.flat[1] = np.nan
    x.flat[-2] = -np.inf
    return x


@pytest.fixture
def host(monkeypatch):
    if compiler() is None:
        pytest.skip("no C++ compiler to build the kernel bodies for the host")
    monkeypatch.setattr(fused, "_xp", lambda a: HostModule)
    fused._kernel.cache_clear()
    yield
    fused._kernel.cache_clear()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, k, s, padding", GEOMETRIES)
def test_fused_max_pool_equals_the_generic_code(host, shape, k, s, padding, dtype) -> None:
    x = _ties(shape, dtype)
    g = pool.pool_geometry(x.shape, (k, k), (s, s), padding)
    y = pool.max_pool_forward(x, g)  # numpy: the generic code
    np.testing.assert_array_equal(fused.max_pool(x, g), y)
    if not pool._non_overlapping(g):
        return
    gy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    gy.flat[0] = np.inf  # inf * 0 is NaN in both, or not at all
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(fused.max_pool_grad(gy, y, x, g), pool.max_pool_backward(gy, y, x, g))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (0, 2, 1, 0), (0, 0, 0, 0), (2, 3, 0, 1)])
def test_fused_pad_equals_the_generic_code(host, pads, dtype) -> None:
    x = _ties((2, 5, 4, 3), dtype)
    ah, aw = Axis(0, pads[0], pads[1]), Axis(0, pads[2], pads[3])
    for value in (0.0, -np.inf):
        np.testing.assert_array_equal(fused.pad(x, ah, aw, value), window.pad_hw(x, ah, aw, value))
    strided = x[:, ::2]  # not contiguous: the wrapper makes it so
    np.testing.assert_array_equal(fused.pad(strided, ah, aw, 0.0), window.pad_hw(strided, ah, aw, 0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_relu_grad_equals_the_generic_code(host, dtype) -> None:
    y = np.maximum(_ties((3, 4, 5), dtype), 0)
    gy = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
    gy.flat[3] = np.nan
    np.testing.assert_array_equal(fused.relu_grad(gy, y), gy * (y > 0))


def test_fused_kernels_are_used_only_on_a_module_that_has_them(monkeypatch) -> None:
    assert not fused.enabled(np)
    assert fused.enabled(HostModule)
    monkeypatch.setattr(fused, "FUSED", False)
    assert not fused.enabled(HostModule)


def _skip_without_kernels(xp) -> None:
    if xp is np:
        pytest.skip("compares cupy's fused kernels with cupy's generic code")
    if not hasattr(xp, "ElementwiseKernel"):
        pytest.skip("this cupy (the CPU stand-in) has no ElementwiseKernel: the generic code runs")


@pytest.mark.parametrize("shape, k, s, padding", GEOMETRIES)
def test_cupy_fused_pool_equals_cupy_generic(xp, shape, k, s, padding, monkeypatch) -> None:
    _skip_without_kernels(xp)
    x = xp.asarray(_ties(shape, np.float32))
    g = pool.pool_geometry(x.shape, (k, k), (s, s), padding)
    gy = xp.asarray(np.random.default_rng(1).standard_normal((shape[0], g.h.out, g.w.out, shape[3]), np.float32))
    fast = pool.max_pool_forward(x, g)
    fast_grad = pool.max_pool_backward(gy, fast, x, g)
    monkeypatch.setattr(fused, "FUSED", False)
    slow = pool.max_pool_forward(x, g)
    np.testing.assert_array_equal(fast.get(), slow.get())
    np.testing.assert_array_equal(fast_grad.get(), pool.max_pool_backward(gy, slow, x, g).get())


def test_cupy_fused_pad_and_relu_grad_equal_cupy_generic(xp, monkeypatch) -> None:
    _skip_without_kernels(xp)
    x = xp.asarray(_ties((2, 5, 4, 3), np.float32))
    gy = xp.asarray(np.random.default_rng(2).standard_normal(x.shape, np.float32))
    y = xp.maximum(x, np.float32(0))
    ah, aw = Axis(0, 1, 2), Axis(0, 0, 1)
    fast = [window.pad_hw(x, ah, aw, -np.inf), fused.relu_grad(gy, y)]
    monkeypatch.setattr(fused, "FUSED", False)
    slow = [window.pad_hw(x, ah, aw, -np.inf), gy * (y > 0)]
    for f, s in zip(fast, slow):
        np.testing.assert_array_equal(f.get(), s.get())
