"""The graph and the backward pass: depth, fan-out, no_grad, constants, what is saved and when it is freed."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.backend import to_numpy
from minigrad.kernels import conv as conv_kernels
from minigrad.ops.nn import Conv2d

REPO = Path(__file__).resolve().parents[1]


def tensor(xp: Any, array: Any, requires_grad: bool = False) -> mg.Tensor:
    return mg.Tensor(xp.asarray(array), requires_grad=requires_grad)


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def graph_nodes(root: mg.Tensor) -> list[mg.Function]:
    """Every Function reachable from root (an explicit stack: the graph may be deep).

    A parent link may be an op, a tensor (whose ``_ctx`` is its op, None for a leaf) or None."""
    nodes, stack, seen = [], [root], set()
    while stack:
        item = stack.pop()
        fn = item if isinstance(item, mg.Function) else getattr(item, "_ctx", None)
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes.append(fn)
        stack.extend(p for p in fn.parents if p is not None)
    return nodes


# ---- depth and fan-out ------------------------------------------------------------


def test_chain_of_10000_ops(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((3,)), requires_grad=True)
    y = x
    for i in range(10_000):
        y = y * 1.0001 if i % 2 else -y  # 5000 of each
    with recursion_limit(1000):  # a recursive walk over 10 000 nodes could not run under this
        y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), np.full(3, 1.0001**5000), rtol=1e-10)


def test_dropping_an_unused_deep_graph(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((2,)), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y + 1.0
    last_op = weakref.ref(y._ctx)
    del y  # freeing 10 000 nested nodes must not overflow the C stack
    assert last_op() is None, "the dropped graph is still alive (a reference cycle?)"


def test_fan_out_accumulates(xp, rng) -> None:
    a = rng.standard_normal((4, 3))
    x = tensor(xp, a, requires_grad=True)
    h = x * 2.0  # an intermediate used three times
    loss = (x * x).sum() + (x * 3.0).sum() + x.sum() + (h * h + h).sum()
    loss.backward()
    # d/dx: 2x + 3 + 1 + (8x + 2)
    np.testing.assert_allclose(to_numpy(x.grad), 10 * a + 6, rtol=1e-12)


class Spy(mg.Function):
    """x -> x, whose backward hands on a fresh array and notes which earlier ones are still alive."""

    def __init__(self, handed: list) -> None:
        self.handed = handed

    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, gy: Any) -> tuple[Any]:
        # every gradient handed on before, except this op's own gy, was consumed already
        self.alive = [i for i, ref in enumerate(self.handed[:-1]) if ref() is not None]
        g = gy * 1.0
        self.handed.append(weakref.ref(g))
        return (g,)


def test_intermediate_gradients_are_dropped_once_consumed(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((2, 3)), requires_grad=True)
    handed: list = []
    y, spies = x, []
    for _ in range(4):
        y = Spy.apply(y, handed=handed)
        spies.append(y._ctx)
    (y * 2.0).sum().backward()
    assert len(handed) == 4
    assert [spy.alive for spy in spies] == [[]] * 4, "a consumed gradient was kept while backward went on"
    np.testing.assert_array_equal(to_numpy(x.grad), np.full((2, 3), 2.0))


def test_leaf_gradients_accumulate_across_backward_calls(xp, rng) -> None:
    a = rng.standard_normal((5,))
    x = tensor(xp, a, requires_grad=True)
    (x * x).sum().backward()
    (x * 4.0).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), 2 * a + 4, rtol=1e-12)
    x.zero_grad()
    assert x.grad is None


def test_backward_with_an_explicit_gradient(xp, rng) -> None:
    a, r = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x = tensor(xp, a, requires_grad=True)
    (x * x).backward(xp.asarray(r))
    np.testing.assert_allclose(to_numpy(x.grad), 2 * a * r, rtol=1e-12)


# ---- what gets recorded -----------------------------------------------------------


def test_no_grad_builds_no_graph(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((1, 5, 5, 2)).astype(np.float32), requires_grad=True)
    w = tensor(xp, rng.standard_normal((3, 3, 2, 2)).astype(np.float32), requires_grad=True)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = mg.max_pool(mg.relu(mg.conv2d(x, w)), 2, 2) * 2.0
    assert mg.is_grad_enabled()
    assert y.requires_grad is False
    assert y._ctx is None
    with pytest.raises(RuntimeError, match="backward"):
        y.sum().backward()


def test_no_grad_restores_the_switch_after_an_error(xp) -> None:
    with pytest.raises(KeyError), mg.no_grad():
        raise KeyError("boom")
    assert mg.is_grad_enabled()
    x = tensor(xp, np.ones(2), requires_grad=True)
    assert (x * 2.0)._ctx is not None


def test_constants_get_no_gradient(xp, rng) -> None:
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x = tensor(xp, a, requires_grad=True)
    c = tensor(xp, b)
    both_constant = c * c
    assert both_constant.requires_grad is False and both_constant._ctx is None
    loss = (x * c + c).sum()
    loss.backward()
    assert c.grad is None
    np.testing.assert_allclose(to_numpy(x.grad), b, rtol=1e-12)


def test_conv2d_with_constant_weights_keeps_no_input(xp, rng, monkeypatch) -> None:
    x = tensor(xp, rng.standard_normal((1, 6, 5, 2)), requires_grad=True)
    w = tensor(xp, rng.standard_normal((3, 3, 2, 4)))
    out = mg.conv2d(x, w)
    fn = out._ctx
    assert isinstance(fn, Conv2d)
    assert fn.needs_input_grad == (True, False)
    kept_w, kept_x = fn.saved
    assert kept_x is None, "x is only needed for w's gradient, which nobody asked for"
    assert kept_w is w.data

    def no_weight_gradient(*args: Any) -> Any:
        raise AssertionError("conv2d computed a weight gradient that nobody asked for")

    monkeypatch.setattr(conv_kernels, "conv2d_backward_weight", no_weight_gradient)
    out.sum().backward()
    assert w.grad is None
    assert x.grad is not None and x.grad.shape == x.shape


def test_conv2d_with_constant_input_keeps_no_weights(xp, rng, monkeypatch) -> None:
    x = tensor(xp, rng.standard_normal((1, 6, 5, 2)))
    w = tensor(xp, rng.standard_normal((3, 3, 2, 4)), requires_grad=True)
    out = mg.conv2d(x, w)
    kept_w, kept_x = out._ctx.saved
    assert kept_w is None and kept_x is x.data

    def no_input_gradient(*args: Any) -> Any:
        raise AssertionError("conv2d computed an input gradient that nobody asked for")

    monkeypatch.setattr(conv_kernels, "conv2d_backward_input", no_input_gradient)
    out.sum().backward()
    assert x.grad is None and w.grad.shape == w.shape


def test_leaf_gradients_are_writable_arrays(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((3, 4)), requires_grad=True)
    x.sum().backward()  # the gradient of a sum is a broadcast: it must not reach .grad as a read-only view
    x.grad *= 2.0
    np.testing.assert_array_equal(to_numpy(x.grad), np.full((3, 4), 2.0))


def test_relu_keeps_its_output_not_its_input(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((3, 4)), requires_grad=True)
    y = mg.relu(x)
    (kept,) = y._ctx.saved
    assert kept is y.data


def test_saved_buffers_are_released_after_backward(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((1, 7, 6, 2)), requires_grad=True)
    w = tensor(xp, rng.standard_normal((3, 3, 2, 3)), requires_grad=True)
    h = mg.relu(mg.conv2d(x, w))
    pooled = mg.max_pool(h, 2, 2)
    loss = mg.l2_loss(pooled.reshape(-1, 3) @ pooled.reshape(-1, 3).T) + (h * 0.5).sum()
    nodes = graph_nodes(loss)
    assert len(nodes) >= 9
    assert any(fn.saved for fn in nodes), "some node must have saved an array before backward"
    loss.backward()
    for fn in nodes:
        assert fn.saved is None, f"{fn.name} still holds its saved arrays"
        assert fn.parents == (), f"{fn.name} still links to its inputs"
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


def test_a_second_backward_through_a_freed_graph_raises(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((1, 5, 6, 2)), requires_grad=True)
    w = tensor(xp, rng.standard_normal((3, 3, 2, 2)), requires_grad=True)
    h = mg.relu(mg.conv2d(x, w))
    loss = mg.l2_loss(h)
    loss.backward()
    first = to_numpy(x.grad).copy()
    with pytest.raises(RuntimeError, match="backward"):
        loss.backward()  # nothing was saved any more: an error, not a silent no-op
    with pytest.raises(RuntimeError, match="backward"):
        (h * 2.0).sum().backward()  # a new graph on top of a freed intermediate
    np.testing.assert_array_equal(to_numpy(x.grad), first)


# ---- the package never imports cupy by itself ---------------------------------------

NO_CUPY = """
import sys
import numpy as np
import minigrad as mg
x = mg.Tensor(np.ones((1, 5, 5, 2), np.float32), requires_grad=True)
w = mg.Tensor(np.ones((3, 3, 2, 2), np.float32), requires_grad=True)
h = mg.avg_pool(mg.max_pool(mg.relu(mg.conv2d(x, w)), 2, 2), 2, 2)
loss = mg.l2_loss(h.reshape(2, 4) @ mg.Tensor(np.ones((4, 3), np.float32)))
loss.backward()
opt = mg.optim.Adam([x])
opt.step()
assert x.grad is not None and w.grad is not None
assert "cupy" not in sys.modules, "minigrad imported cupy"
print("ok")
"""


def test_minigrad_does_not_import_cupy(xp, tmp_path) -> None:
    if xp is not np:
        pytest.skip("a property of the numpy path: the subprocess never asks for cupy")
    # a stand-in cupy that imports fine, so an eager import shows up even where cupy is not installed
    (tmp_path / "cupy.py").write_text("class ndarray:\n    pass\n")
    path = [str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    proc = subprocess.run(
        [sys.executable, "-c", NO_CUPY], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_the_suite_collects_and_skips_the_comparisons_without_tensorflow(xp, tmp_path) -> None:
    if xp is not np:
        pytest.skip("a property of the test files, not of a backend")
    # a stand-in tensorflow whose import fails, as where it is not installed
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text("raise ImportError('no tensorflow here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

    def run_pytest(*args: str) -> str:
        proc = subprocess.run(
            [*pytest_args, *args], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        return proc.stdout

    collected = run_pytest("--collect-only", "tests")
    assert re.search(r"^\d+ tests collected in ", collected, re.M), collected[-2000:]  # else: "..., N errors in"
    skipped = run_pytest(
        "-rs", "tests/test_optim.py", "-k", "tensorflow", "tests/test_vgg.py::test_forward_matches_tensorflow"
    )
    assert "TensorFlow is not installed" in skipped and " passed" not in skipped, skipped[-2000:]


def test_leaves_get_their_own_gradient_arrays(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((3, 4)), requires_grad=True)
    y = tensor(xp, rng.standard_normal((3, 4)), requires_grad=True)
    (x + y).sum().backward()
    assert x.grad is not y.grad
    x.grad *= 0
    np.testing.assert_array_equal(to_numpy(y.grad), np.ones((3, 4)))


def test_intermediate_arrays_are_freed_when_nothing_holds_them() -> None:
    import gc

    x = mg.Tensor(np.random.default_rng(0).standard_normal((1, 6, 6, 2)), requires_grad=True)
    pre = mg.conv2d(x, mg.Tensor(np.ones((3, 3, 2, 2))))
    ref = weakref.ref(pre.data)
    out = mg.relu(pre)
    del pre
    gc.collect()
    assert ref() is None, "the graph keeps the conv output alive although relu saves only its own output"
    out.sum().backward()


def test_leaf_gradients_never_share_memory_through_views(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((2, 3)), requires_grad=True)
    y = tensor(xp, rng.standard_normal(6), requires_grad=True)
    (x.reshape(6) + y).sum().backward()  # x.grad is a view of the array y.grad would be
    x.grad *= 0
    np.testing.assert_array_equal(to_numpy(y.grad), np.ones(6))


def test_the_callers_gradient_array_is_not_kept(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal(3), requires_grad=True)
    seed = xp.asarray(np.ones(3))
    (x + 0.0).backward(seed)
    x.grad *= 5
    np.testing.assert_array_equal(to_numpy(seed), np.ones(3))


def test_backward_with_a_gradient_of_the_wrong_shape_names_both(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(2, 3\) float64.*\(3, 2\) float64"):
        (x * 2.0).backward(xp.asarray(np.ones((3, 2))))


def test_numpy_integers_index_like_ints(xp, rng) -> None:
    x = tensor(xp, rng.standard_normal((3, 4)), requires_grad=True)
    x[np.int64(1)].sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [[0] * 4, [1] * 4, [0] * 4])


def test_constants_of_other_kinds_take_the_tensors_dtype(xp) -> None:
    x = mg.Tensor(xp.asarray(np.ones(3, dtype=np.float32)))
    for other in ([1.0, 2.0, 3.0], (1.0, 2.0, 3.0), np.float64(2.0), np.int64(2)):
        assert (x * other).dtype == np.float32 and (other + x).dtype == np.float32
    np.testing.assert_allclose(to_numpy((x + [1.0, 2.0, 3.0]).data), [2, 3, 4])


# ---- the package's surface ----------------------------------------------------------------------


def test_every_op_is_exported_from_the_one_list() -> None:
    from minigrad import ops

    assert set(ops.__all__) <= set(mg.__all__)
    for name in mg.__all__:
        assert hasattr(mg, name), name
    for name in ops.__all__:
        assert getattr(mg, name) is getattr(ops, name), name


def test_detach_gives_a_constant_over_the_same_array(xp, rng) -> None:
    a = rng.standard_normal(4)
    x = tensor(xp, a, requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d._ctx is None
    (y * d).sum().backward()  # d/dx (3x * const 3x) = 3 * 3x: nothing flows back through d
    np.testing.assert_allclose(to_numpy(x.grad), 9 * a, rtol=1e-12)


def test_to_backend_moves_arrays_and_leaves_those_already_there(xp) -> None:
    host = np.arange(6.0).reshape(2, 3)
    assert mg.backend.to_backend(host, "numpy") is host
    moved = mg.backend.to_backend(host, "cupy" if xp is not np else "numpy")
    assert mg.backend.get_array_module(moved) is xp
    back = mg.backend.to_backend(moved, "numpy")
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, host)
    with pytest.raises(mg.backend.BackendError, match="unknown backend"):
        mg.backend.to_backend(host, "tpu")
