"""Replay one expression in minigrad and in TensorFlow (eager, CPU) and compare value and gradients.

Gradients are taken of loss = sum(f(inputs) * R) for a fixed random cotangent R, so every entry of
every gradient is checked, not just their sum. Errors are measured per array as
max|ours - tf| / max(max|tf|, tiny); the worst one seen in the session is kept in ``RECORD`` and
printed by the terminal-summary hook in conftest.py. TensorFlow is imported on first use only.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad as mg
from minigrad.backend import to_numpy

TINY = float(np.finfo(np.float32).tiny)
RTOL = 1e-4

_tf: Any = None


def load_tf() -> Any:
    """TensorFlow on the CPU with its C++ logging quieted; where it is not installed, the calling test is skipped."""
    global _tf
    if _tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import tensorflow as tf
        except ImportError as exc:
            import pytest

            pytest.skip(f"TensorFlow is not installed, so this comparison with it cannot run ({exc})")
        try:
            tf.config.set_visible_devices([], "GPU")
        except (RuntimeError, ValueError):  # already initialised, or no GPU support built in
            pass
        _tf = tf
    return _tf


class LazyTF:
    """Stands for the tensorflow module: the first read of a public attribute imports it (or skips the test).

    Private and dunder names are not looked up, so pytest's collection probing them loads nothing.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(load_tf(), name)


tf = LazyTF()


# ---- inputs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One input of a case: its shape, how its values are drawn, and whether it is differentiated."""

    shape: tuple[int, ...]
    kind: str = "normal"
    grad: bool = True


def draw(rng: np.random.Generator, spec: Input, dtype: Any = np.float32) -> np.ndarray:
    """Values of one kind: normal; positive/nonzero (|x| in [0.5, 2]); negative (all < 0);
    zeros (normal with about a third exactly 0); ties (integers 0, 1, 2, mostly 0: relu-like)."""
    shape = spec.shape
    if spec.kind == "normal":
        a = rng.standard_normal(shape)
    elif spec.kind == "positive":
        a = rng.uniform(0.5, 2.0, shape)
    elif spec.kind == "nonzero":
        a = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif spec.kind == "negative":
        a = -rng.uniform(0.1, 3.0, shape)
    elif spec.kind == "zeros":
        a = rng.standard_normal(shape) * (rng.uniform(size=shape) > 1 / 3)
    elif spec.kind == "ties":
        a = rng.integers(-2, 3, shape).clip(0)
    else:
        raise ValueError(f"unknown input kind {spec.kind!r}")
    return np.asarray(a, dtype=dtype)


def seeded_rng(case_id: str) -> np.random.Generator:
    """A generator seeded from the case id: stable across runs and independent of case order."""
    return np.random.default_rng(zlib.crc32(case_id.encode()))


# ---- replay -----------------------------------------------------------------------


def minigrad_value_and_grads(
    fn: Callable[..., mg.Tensor], arrays: Sequence[np.ndarray], specs: Sequence[Input], cotangent: np.ndarray, xp: Any
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """f's value and the gradient of sum(f * R) for each differentiated input (host copies)."""
    params = [mg.Tensor(xp.asarray(a), requires_grad=s.grad) for a, s in zip(arrays, specs)]
    y = fn(*params)
    (y * mg.Tensor(xp.asarray(cotangent))).sum().backward()
    grads = [None if not s.grad else _zeros_if_none(p.grad, a) for p, a, s in zip(params, arrays, specs)]
    return to_numpy(y.data), grads


def tf_value_and_grads(
    fn: Callable[..., Any], arrays: Sequence[np.ndarray], specs: Sequence[Input], cotangent: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The same in TensorFlow: fn gets the tf module first, then the inputs as tf tensors."""
    tf = load_tf()
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        for t, s in zip(tensors, specs):
            if s.grad:
                tape.watch(t)
        y = fn(tf, *tensors)
        loss = tf.reduce_sum(y * tf.constant(cotangent))
    watched = [t for t, s in zip(tensors, specs) if s.grad]
    raw = iter(tape.gradient(loss, watched))
    grads = [None if not s.grad else _zeros_if_none(next(raw), a) for a, s in zip(arrays, specs)]
    return y.numpy(), grads


def _zeros_if_none(g: Any, like: np.ndarray) -> np.ndarray:
    """A host array: zeros where an engine reports no gradient (an input the output does not depend on)."""
    if g is None:
        return np.zeros_like(like)
    return g.numpy() if hasattr(g, "numpy") else to_numpy(g)  # a tf tensor, or a numpy/cupy array


# ---- comparison -------------------------------------------------------------------


@dataclass
class Record:
    worst: float = 0.0
    where: str = ""
    arrays: int = 0
    cases: int = 0


RECORD = Record()


def relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """max|ours - ref| / max(max|ref|, tiny); inf when shapes differ, nan when ours has a nan."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return float("inf")
    if ref.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(ref))), TINY)
    return float(np.max(np.abs(ours - ref))) / scale


def assert_matches(where: str, ours: np.ndarray, ref: np.ndarray, rtol: float = RTOL, record: bool = True) -> float:
    """Fail unless ours is within rtol (relative to the largest reference entry) of ref; record the error."""
    err = relative_error(ours, ref)
    if record:
        RECORD.arrays += 1
        if not err <= RECORD.worst:  # also records a nan
            RECORD.worst, RECORD.where = err, where
    assert err <= rtol, (
        f"{where}: differs from TensorFlow, relative error {err:.3g} > {rtol:g} "
        f"(ours {np.shape(ours)}, tf {np.shape(ref)})"
    )
    return err


def compare_with_tf(
    case_id: str,
    ours: Callable[..., mg.Tensor],
    theirs: Callable[..., Any],
    specs: Sequence[Input],
    xp: Any,
) -> None:
    """Replay one case in both engines on float32 inputs drawn from the case id; compare everything."""
    rng = seeded_rng(case_id)
    arrays = [draw(rng, s) for s in specs]
    tf = load_tf()
    out_shape = tuple(theirs(tf, *[tf.constant(a) for a in arrays]).shape)
    cotangent = np.asarray(rng.standard_normal(out_shape), dtype=np.float32)
    y_tf, g_tf = tf_value_and_grads(theirs, arrays, specs, cotangent)
    y_mg, g_mg = minigrad_value_and_grads(ours, arrays, specs, cotangent, xp)
    RECORD.cases += 1
    assert y_mg.dtype == np.float32, f"{case_id}: value dtype {y_mg.dtype}, expected float32"
    assert_matches(f"{case_id} value", y_mg, y_tf)
    for i, (g_ours, g_ref) in enumerate(zip(g_mg, g_tf)):
        if g_ref is not None:
            assert g_ours.dtype == np.float32, f"{case_id}: grad {i} dtype {g_ours.dtype}, expected float32"
            assert_matches(f"{case_id} grad {i}", g_ours, g_ref)


@dataclass(frozen=True)
class Case:
    id: str
    ours: Callable[..., mg.Tensor]
    theirs: Callable[..., Any] | None
    inputs: tuple[Input, ...]


def dims(shape: tuple[int, ...]) -> str:
    """A shape for a test id: (2, 3, 4) -> 2x3x4, () -> scalar."""
    return "x".join(map(str, shape)) or "scalar"


def case(id_: str, ours: Callable, theirs: Callable | None, *inputs: Input | tuple[int, ...]) -> Case:
    specs = tuple(i if isinstance(i, Input) else Input(i) for i in inputs)
    return Case(id_, ours, theirs, specs)


def check_case(c: Case, xp: Any, prefix: str = "") -> None:
    """Run a case in minigrad and TensorFlow and compare value and gradients."""
    theirs = c.theirs if c.theirs is not None else (lambda _tf, *args: c.ours(*args))
    compare_with_tf(prefix + c.id, c.ours, theirs, c.inputs, xp)


def assert_unique_ids(cases: list[Case]) -> None:
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
