"""Every elementwise, reduction, shape and matmul op, value and gradient, against TensorFlow on fixed-seed
float32 cases (tolerance 1e-4 relative); the nn ops are in test_nn_tf.py.

Each case is one expression written twice, for minigrad and for TensorFlow (``theirs=None`` means the
expression uses only operators and indexing, so the very same lambda runs in both engines).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tf_reference import (
    Case,
    Input,
    assert_matches,
    assert_unique_ids,
    case,
    check_case,
    dims,
    relative_error,
)

import minigrad as mg

# ---- elementwise ------------------------------------------------------------------

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((2, 3, 4), (3, 1)),
    ((1, 4), (3, 1)),
    ((2, 1, 5), (1, 3, 1)),
    ((2, 3), ()),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}
FUNCTIONAL = {"add": mg.add, "sub": mg.sub, "mul": mg.mul, "div": mg.div}


def _binary_cases() -> list[Case]:
    cases = []
    for (name, op), (sa, sb) in itertools.product(BINARY.items(), BROADCAST_SHAPES):
        b = Input(sb, "nonzero" if name == "div" else "normal")
        cases.append(case(f"{name}-{dims(sa)}-{dims(sb)}", op, None, Input(sa), b))
    for name, fn in FUNCTIONAL.items():
        b = Input((5,), "nonzero" if name == "div" else "normal")
        cases.append(case(f"mg.{name}", fn, lambda tf, x, y, op=BINARY[name]: op(x, y), Input((3, 5)), b))
        const = Input((3, 1), "nonzero", grad=False)  # a constant operand: no gradient asked for it
        cases.append(case(f"{name}-const-operand", BINARY[name], None, Input((3, 5)), const))
    return cases


SCALAR_CASES = [
    case("x+2.5", lambda x: x + 2.5, None, (3, 5)),
    case("2.5+x", lambda x: 2.5 + x, None, (3, 5)),
    case("x-1.5", lambda x: x - 1.5, None, (3, 5)),
    case("1.5-x", lambda x: 1.5 - x, None, (3, 5)),
    case("x*-0.75", lambda x: x * -0.75, None, (3, 5)),
    case("-0.75*x", lambda x: -0.75 * x, None, (3, 5)),
    case("x/3", lambda x: x / 3.0, None, (3, 5)),
    case("3/x", lambda x: 3.0 / x, None, Input((3, 5), "nonzero")),
    case("x*x", lambda x: x * x, None, (4, 3)),
    case("x/x-x", lambda x: x / x - x, None, Input((4, 3), "nonzero")),
    case("neg", lambda x: -x, None, (3, 5)),
    case("neg-4d", lambda x: -x, None, (2, 3, 4, 5)),
    case("mg.neg", mg.neg, lambda tf, x: -x, (7,)),
]

POW_POSITIVE = (2, 3, 0.5, -1, 1.5, -2.0, 1)
POW_CASES = [case(f"pow{p}-positive", lambda x, p=p: x**p, None, Input((3, 5), "positive")) for p in POW_POSITIVE]
POW_CASES += [case(f"pow{p}-signed", lambda x, p=p: x**p, None, Input((2, 3, 4), "nonzero")) for p in (2, 3, -1)]

# ---- reductions and shapes --------------------------------------------------------

AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2)]


def _reduce_cases() -> list[Case]:
    cases = []
    for axis, keep in itertools.product(AXES, (False, True)):
        tf_axis = list(axis) if isinstance(axis, tuple) else axis
        cases.append(
            case(
                f"sum-{axis}-{keep}".replace(" ", ""),
                lambda x, a=axis, k=keep: x.sum(axis=a, keepdims=k),
                lambda tf, x, a=tf_axis, k=keep: tf.reduce_sum(x, axis=a, keepdims=k),
                (2, 3, 5),
            )
        )
        cases.append(
            case(
                f"mean-{axis}-{keep}".replace(" ", ""),
                lambda x, a=axis, k=keep: x.mean(axis=a, keepdims=k),
                lambda tf, x, a=tf_axis, k=keep: tf.reduce_mean(x, axis=a, keepdims=k),
                (2, 3, 5),
            )
        )
    cases.append(case("mg.sum", lambda x: mg.sum(x, axis=1), lambda tf, x: tf.reduce_sum(x, axis=1), (4, 3)))
    cases.append(case("mg.mean", mg.mean, lambda tf, x: tf.reduce_mean(x), (4, 3)))
    return cases


SHAPE_CASES = [
    case("reshape-6x4", lambda x: x.reshape(6, 4), lambda tf, x: tf.reshape(x, (6, 4)), (2, 3, 4)),
    case("reshape-4x-1", lambda x: x.reshape((4, -1)), lambda tf, x: tf.reshape(x, (4, -1)), (2, 3, 4)),
    case("reshape-flat", lambda x: x.reshape(-1), lambda tf, x: tf.reshape(x, (-1,)), (2, 3, 4)),
    case("mg.reshape", lambda x: mg.reshape(x, (3, 8)), lambda tf, x: tf.reshape(x, (3, 8)), (2, 3, 4)),
    case("reshape-hw-c", lambda x: x.reshape(-1, 3), lambda tf, x: tf.reshape(x, (-1, 3)), (1, 5, 7, 3)),
    case("transpose-default", lambda x: x.transpose(), lambda tf, x: tf.transpose(x), (2, 3, 4)),
    case("transpose-021", lambda x: x.transpose(0, 2, 1), lambda tf, x: tf.transpose(x, (0, 2, 1)), (2, 3, 4)),
    case("transpose-201", lambda x: x.transpose((2, 0, 1)), lambda tf, x: tf.transpose(x, (2, 0, 1)), (2, 3, 4)),
    case(
        "transpose-0312",
        lambda x: mg.transpose(x, 0, 3, 1, 2),
        lambda tf, x: tf.transpose(x, (0, 3, 1, 2)),
        (2, 3, 5, 4),
    ),
    case("transpose-.T", lambda x: x.T, lambda tf, x: tf.transpose(x), (3, 5)),
]

SLICES = {
    "[:,1:,:,:]": lambda x: x[:, 1:, :, :],
    "[:,:,:-1,:]": lambda x: x[:, :, :-1, :],
    "[:,:-1,:,:]": lambda x: x[:, :-1, :, :],
    "[:,:,1:,:]": lambda x: x[:, :, 1:, :],
    "[1:]": lambda x: x[1:],
    "[:,::2]": lambda x: x[:, ::2],
    "[...,1]": lambda x: x[..., 1],
    "[0]": lambda x: x[0],
    "[:,1:4,2:,:2]": lambda x: x[:, 1:4, 2:, :2],
    "tv-h": lambda x: x[:, 1:, :, :] - x[:, :-1, :, :],
    "tv-w": lambda x: x[:, :, 1:, :] - x[:, :, :-1, :],
}
SLICE_CASES = [case(f"slice{name}", fn, None, (2, 5, 6, 3)) for name, fn in SLICES.items()]

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 7), (7, 1)),
    ((5, 1), (1, 6)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
]
MATMUL_CASES = [case(f"matmul-{dims(sa)}@{dims(sb)}", lambda a, b: a @ b, None, sa, sb) for sa, sb in MATMUL_SHAPES]
MATMUL_CASES += [
    case("mg.matmul", mg.matmul, lambda tf, a, b: tf.matmul(a, b), (3, 6), (6, 2)),
    case("gram-by-matmul", lambda f: f.T @ f, lambda tf, f: tf.matmul(f, f, transpose_a=True), (12, 5)),
    case("matmul-const-b", lambda a, b: a @ b, None, (4, 3), Input((3, 2), grad=False)),
]
MATMUL_CASES += [
    case(f"mg.gram-{dims(shape)}", mg.gram, lambda tf, f: tf.matmul(f, f, transpose_a=True), shape)
    for shape in ((12, 5), (1, 7), (7, 1), (35, 16))
]
MATMUL_CASES += [
    case("mg.gram-of-a-transpose", lambda f: mg.gram(f.T), lambda tf, f: tf.matmul(f, f, transpose_b=True), (5, 12))
]

ALL_CASES = _binary_cases() + SCALAR_CASES + POW_CASES + _reduce_cases() + SHAPE_CASES + SLICE_CASES + MATMUL_CASES


@pytest.mark.parametrize("c", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_matches_tensorflow(c: Case, xp, tf) -> None:
    check_case(c, xp)


def test_case_ids_are_unique() -> None:
    assert_unique_ids(ALL_CASES)


def test_comparison_flags_a_small_error(xp) -> None:
    """The yardstick itself: 2e-4 relative off must fail, 5e-5 must pass, a nan must fail."""
    ref = np.linspace(-3, 3, 12).astype(np.float32)
    bad = ref.copy()
    bad[4] += 6e-4
    assert relative_error(bad, ref) == pytest.approx(2e-4, rel=1e-2)
    with pytest.raises(AssertionError, match="differs from TensorFlow"):
        assert_matches("sanity", bad, ref, record=False)
    assert_matches("sanity", ref + np.float32(1.5e-4), ref, record=False)
    with pytest.raises(AssertionError):
        assert_matches("sanity", np.full_like(ref, np.nan), ref, record=False)
