"""Errors: ValueError/TypeError (never assert) that name the op, what was wrong and every input's shape."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.backend import to_numpy


def t(xp: Any, shape: tuple[int, ...], dtype: Any = np.float32, requires_grad: bool = False) -> mg.Tensor:
    return mg.Tensor(xp.asarray(np.ones(shape, dtype=dtype)), requires_grad=requires_grad)


def names_all(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} missing from the error message {message!r}"


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
}


# ---- backward ---------------------------------------------------------------------


def test_backward_on_a_non_scalar_raises(xp) -> None:
    y = t(xp, (2, 3), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as info:
        y.backward()
    names_all(str(info.value), "backward", "scalar")


def test_backward_without_a_graph_raises(xp) -> None:
    with pytest.raises(RuntimeError, match="backward"):
        (t(xp, (2,)) * 2.0).sum().backward()


# ---- dtypes and shapes ------------------------------------------------------------


@pytest.mark.parametrize("op", list(BINARY))
def test_mixing_float32_and_float64_raises(op: str, xp) -> None:
    a, b = t(xp, (2, 3), np.float32, True), t(xp, (2, 3), np.float64)
    with pytest.raises(TypeError) as info:
        BINARY[op](a, b)
    names_all(str(info.value), op, "float32", "float64")


@pytest.mark.parametrize(
    "call",
    [
        lambda xp: mg.matmul(t(xp, (2, 3)), t(xp, (3, 4), np.float64)),
        lambda xp: mg.conv2d(t(xp, (1, 5, 5, 2)), t(xp, (3, 3, 2, 4), np.float64)),
    ],
    ids=["matmul", "conv2d"],
)
def test_mixing_dtypes_in_matmul_and_conv_raises(call: Callable, xp) -> None:
    with pytest.raises(TypeError) as info:
        call(xp)
    names_all(str(info.value), "float32", "float64")


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (4,)), ((3, 1, 5), (2, 4, 1)), ((5,), (2, 4))])
def test_shapes_that_do_not_broadcast_raise(op: str, shapes: tuple, xp) -> None:
    sa, sb = shapes
    with pytest.raises(ValueError) as info:
        BINARY[op](t(xp, sa, requires_grad=True), t(xp, sb))
    names_all(str(info.value), op, str(sa), str(sb), "broadcast")


def test_conv2d_channel_mismatch_names_op_and_shapes(xp) -> None:
    with pytest.raises(ValueError) as info:
        mg.conv2d(t(xp, (1, 7, 9, 3)), t(xp, (3, 3, 4, 8)))
    names_all(str(info.value), "Conv2d", "(1, 7, 9, 3)", "(3, 3, 4, 8)", "3", "4")


def test_matmul_inner_mismatch_names_op_and_shapes(xp) -> None:
    with pytest.raises(ValueError) as info:
        t(xp, (2, 3)) @ t(xp, (4, 5))
    names_all(str(info.value), "MatMul", "(2, 3)", "(4, 5)")


@pytest.mark.parametrize(
    ("call", "parts"),
    [
        (lambda xp: mg.conv2d(t(xp, (5, 5, 2)), t(xp, (3, 3, 2, 4))), ("Conv2d", "(5, 5, 2)")),
        (lambda xp: mg.conv2d(t(xp, (1, 2, 2, 1)), t(xp, (3, 3, 1, 1)), padding="VALID"), ("Conv2d", "VALID")),
        (lambda xp: mg.conv2d(t(xp, (1, 5, 5, 1)), t(xp, (3, 3, 1, 1)), padding="same"), ("conv2d", "same")),
        (lambda xp: mg.conv2d(t(xp, (1, 5, 5, 1)), t(xp, (3, 3, 1, 1)), stride=0), ("conv2d", "stride")),
        (lambda xp: mg.max_pool(t(xp, (1, 2, 2, 1)), 3, 1, "VALID"), ("MaxPool", "(1, 2, 2, 1)")),
        (lambda xp: mg.avg_pool(t(xp, (5, 5)), 2, 2), ("AvgPool", "(5, 5)")),
        (lambda xp: mg.max_pool(t(xp, (1, 4, 4, 1)), 2, 2, "valid"), ("max_pool", "valid")),
        (lambda xp: mg.avg_pool(t(xp, (1, 4, 4, 1)), (2, 0), 2), ("avg_pool", "size")),
        (lambda xp: t(xp, (2, 3)).reshape(4, 2), ("Reshape", "(2, 3)", "(4, 2)")),
        (lambda xp: t(xp, (2, 3, 4)).transpose(0, 0, 1), ("Transpose", "(2, 3, 4)")),
        (lambda xp: t(xp, (2, 3))[5], ("GetItem", "(2, 3)")),
        (lambda xp: t(xp, (2, 3)).sum(axis=2), ("Sum", "axis 2")),
        (lambda xp: mg.matmul(t(xp, (3,)), t(xp, (3, 2))), ("MatMul", "(3,)")),
        (lambda xp: mg.conv2d(t(xp, (1, 5, 5, 2)), t(xp, (3, 3, 2, 4)), bias=t(xp, (3,))), ("Conv2d", "(3,)")),
        (lambda xp: mg.gram(t(xp, (1, 4, 4, 3))), ("Gram", "(1, 4, 4, 3)")),
    ],
    ids=[
        "conv-3d",
        "conv-valid-too-big",
        "conv-padding",
        "conv-stride",
        "maxpool-too-big",
        "avgpool-2d",
        "maxpool-padding",
        "avgpool-size",
        "reshape",
        "transpose",
        "getitem-range",
        "sum-axis",
        "matmul-1d",
        "conv-bias-shape",
        "gram-4d",
    ],
)
def test_bad_arguments_raise_value_error_naming_the_op(call: Callable, parts: tuple[str, ...], xp) -> None:
    with pytest.raises(ValueError) as info:
        call(xp)
    names_all(str(info.value), *parts)


@pytest.mark.parametrize(
    "call",
    [
        lambda xp: t(xp, (2, 3))[xp.asarray([0, 1])],
        lambda xp: t(xp, (2, 3)) ** t(xp, ()),
    ],
    ids=["fancy-index", "tensor-exponent"],
)
def test_unsupported_arguments_raise_type_error(call: Callable, xp) -> None:
    with pytest.raises(TypeError):
        call(xp)


def test_mixing_backends_raises(xp) -> None:
    if xp is np:
        pytest.skip("needs a second backend: runs where cupy is available")
    with pytest.raises(TypeError) as info:
        t(np, (2, 3)) + t(xp, (2, 3))
    names_all(str(info.value), "Add", "numpy", "cupy")


# ---- nothing is rounded to an integer dtype ---------------------------------------------------------


def ints(xp: Any, shape: tuple[int, ...] = (3,)) -> mg.Tensor:
    return mg.Tensor(xp.asarray(np.arange(1, 1 + int(np.prod(shape)), dtype=np.int32).reshape(shape)))


ROUNDING: dict[str, tuple[Callable[[Any], Any], str]] = {
    "pow-half": (lambda xp: ints(xp) ** 0.5, "Pow"),  # was [1 1 1]
    "pow-negative": (lambda xp: ints(xp) ** -1, "Pow"),
    "mul-float-scalar": (lambda xp: ints(xp) * 2.5, "Mul"),
    "add-float-list": (lambda xp: ints(xp) + [0.5, 1.5, 2.5], "Add"),  # was cast to [0 1 2]
    "sub-numpy-float": (lambda xp: np.float64(0.5) - ints(xp), "Sub"),
    "div": (lambda xp: ints(xp) / 2, "Div"),
    "div-two-tensors": (lambda xp: ints(xp) / ints(xp), "Div"),
    "mean": (lambda xp: ints(xp).mean(), "mean"),
    "l2_loss": (lambda xp: mg.l2_loss(ints(xp)), "L2Loss"),
    "avg_pool": (lambda xp: mg.avg_pool(ints(xp, (1, 2, 2, 1)), 2, 2), "AvgPool"),
    "matmul-float-list": (lambda xp: ints(xp, (2, 2)) @ [[0.5, 1.0], [1.0, 1.0]], "MatMul"),
    "float-complex": (lambda xp: t(xp, (3,)) * 1j, "Mul"),
}


@pytest.mark.parametrize("case", list(ROUNDING))
def test_nothing_is_rounded_to_an_integer_dtype(case: str, xp) -> None:
    call, op = ROUNDING[case]
    with pytest.raises(TypeError) as info:
        call(xp)
    names_all(str(info.value), op, "dtype")
    assert "float" in str(info.value) or "complex" in str(info.value)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
def test_requires_grad_needs_a_float_dtype(dtype: Any, xp) -> None:
    with pytest.raises(TypeError) as info:
        t(xp, (2, 3), dtype=dtype, requires_grad=True)
    names_all(str(info.value), "requires_grad", np.dtype(dtype).name, "(2, 3)", "float")
    assert t(xp, (2, 3), dtype=dtype).requires_grad is False  # as a constant it is fine
    assert t(xp, (2,), dtype=np.float64, requires_grad=True).requires_grad


def test_exact_integer_arithmetic_keeps_the_dtype(xp) -> None:
    for result, expected in [
        (ints(xp) * 2, [2, 4, 6]),
        (ints(xp) + [1, 2, 3], [2, 4, 6]),
        (ints(xp) ** 2, [1, 4, 9]),
        (ints(xp) - True, [0, 1, 2]),
        (ints(xp).sum(), 6),
    ]:
        assert result.dtype == np.int32
        np.testing.assert_array_equal(to_numpy(result.data), expected)
    floats = t(xp, (2,))
    for other in (2.5, [1, 2], np.float64(2.0), np.int64(2)):
        assert (floats * other).dtype == np.float32 and (other - floats).dtype == np.float32


# ---- backward checks what each op returns -------------------------------------------------------------


class Planted(mg.Function):
    """An op whose backward returns what ``wrong`` says, to see backward name it."""

    def __init__(self, wrong: str) -> None:
        self.wrong = wrong

    def forward(self, a: Any, b: Any) -> Any:
        return a * b

    def backward(self, gy: Any) -> tuple[Any, ...]:
        right = (gy, gy)
        return {
            "shape": (gy, gy[:1]),
            "dtype": (gy, gy.astype(np.float64)),
            "missing": (gy, None),
            "count": (gy,),
        }.get(self.wrong, right)


@pytest.mark.parametrize("wrong", ["shape", "dtype", "missing", "count"])
def test_backward_names_an_op_that_returns_a_wrong_gradient(wrong: str, xp) -> None:
    a, b = t(xp, (2, 3), requires_grad=True), t(xp, (2, 3), requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        Planted.apply(a, b, wrong=wrong).sum().backward()
    expected = {"shape": ("(1, 3)", "(2, 3)"), "dtype": ("float64", "float32"), "missing": ("no gradient",)}
    names_all(str(info.value), "Planted", *expected.get(wrong, ("1 gradients", "2 inputs")))
    Planted.apply(a, b, wrong="none").sum().backward()  # the same op returning the right ones passes
    np.testing.assert_array_equal(to_numpy(a.grad), np.ones((2, 3)))
