"""A Python or numpy scalar operand stays on the host as the op's constant: the value and gradient of
every scalar form against TensorFlow and by the float64 directional check, bit for bit what the op over
two arrays gives, and not one array made for the constant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tf_reference import Input, case, check_case, draw, seeded_rng

import minigrad as mg
from minigrad.backend import to_numpy
from minigrad.gradcheck import check_directional
from minigrad.ops import elementwise

# name -> (form over a tensor x and a constant c, c, how x is drawn: away from 0 where the form divides by it)
FORMS: dict[str, tuple[Callable[[Any, Any], Any], Any, str]] = {
    "x+c": (lambda x, c: x + c, 2.5, "normal"),
    "c+x": (lambda x, c: c + x, 2.5, "normal"),
    "x-c": (lambda x, c: x - c, 1.5, "normal"),
    "c-x": (lambda x, c: c - x, 1.5, "normal"),
    "x*c": (lambda x, c: x * c, -0.75, "normal"),
    "c*x": (lambda x, c: c * x, -0.75, "normal"),
    "x/c": (lambda x, c: x / c, 3.0, "normal"),
    "c/x": (lambda x, c: c / x, 3.0, "nonzero"),
    "x*int": (lambda x, c: x * c, 2, "normal"),
    "int/x": (lambda x, c: c / x, 2, "nonzero"),
    "x-np.float64": (lambda x, c: x - c, np.float64(0.1), "normal"),
    "np.float64/x": (lambda x, c: c / x, np.float64(0.1), "nonzero"),
    "x+True": (lambda x, c: x + c, True, "normal"),
}
POWERS = {f"x**{p}": (lambda x, c: x**c, p, "positive") for p in (2, 0.5, -1.5)}
ALL_FORMS = {**FORMS, **POWERS}
SHAPES = [(3, 5), (), (2, 3, 4, 2)]


def tf_constant(c: Any) -> Any:
    """What TensorFlow gets for c: a Python number (it will not mix a float32 tensor with a numpy float64)."""
    return c.item() if isinstance(c, np.generic) else (1 if c is True else c)


@pytest.mark.parametrize("shape", SHAPES, ids=["3x5", "0d", "4d"])
@pytest.mark.parametrize("name", list(ALL_FORMS))
def test_scalar_form_matches_tensorflow(name: str, shape: tuple[int, ...], xp, tf) -> None:
    form, c, kind = ALL_FORMS[name]
    ours, theirs = (lambda x: form(x, c)), (lambda _tf, x: form(x, tf_constant(c)))
    check_case(case(f"{name}-{shape}", ours, theirs, Input(shape, kind)), xp, prefix="scalar ")


def test_the_loss_expression_matches_tensorflow(xp, tf) -> None:
    """2 * l2_loss(x - t) / n, as the content loss writes it: three constants around one reduction."""
    ours = lambda x, t: 2 * mg.l2_loss(x - t) / t.size  # noqa: E731
    theirs = lambda tf, x, t: 2 * tf.nn.l2_loss(x - t) / 24  # noqa: E731
    check_case(case("2*l2(x-t)/n", ours, theirs, (2, 3, 4), Input((2, 3, 4), grad=False)), xp)


@pytest.mark.parametrize("name", list(ALL_FORMS))
def test_scalar_form_gradcheck_float64(name: str, xp) -> None:
    form, c, kind = ALL_FORMS[name]
    x = xp.asarray(draw(seeded_rng(name), Input((4, 3), kind), np.float64))
    check_directional(lambda t: (form(t, c) * form(t, c)).sum(), [x])


def run(form: Callable, x: Any, c: Any) -> tuple[np.ndarray, np.ndarray]:
    """(value, gradient of sum(y * R)) on host copies."""
    t = mg.Tensor(x, requires_grad=True)
    y = form(t, c)
    y.backward(y.xp.asarray(np.linspace(-1, 2, y.size).reshape(y.shape).astype(y.dtype)))
    return to_numpy(y.data), to_numpy(t.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("name", list(FORMS))
def test_a_host_constant_gives_the_bits_of_a_0d_array(name: str, dtype: Any, xp) -> None:
    """The old way (the constant as a 0-d array of x's dtype, then the op over two arrays), bit for bit."""
    form, c, kind = FORMS[name]
    x = xp.asarray(draw(seeded_rng(name), Input((3, 4), kind), dtype))
    as_array = mg.as_tensor(c, like=mg.Tensor(x))
    assert as_array.shape == ()
    for ours, theirs in zip(run(form, x, c), run(form, x, as_array)):
        assert ours.dtype == dtype
        assert ours.tobytes() == theirs.tobytes()


class ArraySpy:
    """Counts the arrays an array module is asked to make from host values."""

    MAKERS = ("asarray", "array", "full", "full_like")

    def __init__(self, xp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        for maker in self.MAKERS:
            monkeypatch.setattr(xp, maker, self.spy(maker, getattr(xp, maker)))

    def spy(self, maker: str, real: Callable) -> Callable:
        def made(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(maker)
            return real(*args, **kwargs)

        return made


def arrays_made(form: Callable, x: mg.Tensor, c: Any, xp: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The array makers that form(x, c) and its backward called."""
    gy = xp.ones(x.shape, x.dtype)
    spy = ArraySpy(xp, monkeypatch)
    form(x, c).backward(gy)
    monkeypatch.undo()
    return spy.calls


@pytest.mark.parametrize("name", list(ALL_FORMS))
def test_a_scalar_operand_makes_no_array(name: str, xp, monkeypatch) -> None:
    form, c, kind = ALL_FORMS[name]
    x = mg.Tensor(xp.asarray(draw(seeded_rng(name), Input((3, 4), kind))), requires_grad=True)
    made = arrays_made(form, x, c, xp, monkeypatch)
    assert made == [], f"{name}: the constant became an array ({made})"
    assert x.grad.shape == x.shape


def test_the_spy_sees_the_old_way(xp, monkeypatch) -> None:
    """The yardstick: with the scalar dispatch planted away (constants through as_tensor), the spy counts the fill."""
    monkeypatch.setattr(elementwise, "is_scalar", lambda value: False)
    x = mg.Tensor(xp.ones((3, 4), np.float32), requires_grad=True)
    assert arrays_made(lambda t, c: t * c, x, 0.5, xp, monkeypatch) == ["asarray"]


@pytest.mark.parametrize("name", list(FORMS))
def test_the_constant_op_records_one_input_and_saves_no_constant(name: str, xp) -> None:
    form, c, kind = FORMS[name]
    x = mg.Tensor(xp.asarray(draw(seeded_rng(name), Input((3, 4), kind))), requires_grad=True)
    fn = form(x, c)._ctx
    assert isinstance(fn, elementwise._Constant) and len(fn.parents) == 1
    assert fn.c.dtype == np.float32 and type(fn.c) is np.float32  # a host scalar of x's dtype
    assert all(tuple(a.shape) == x.shape for a in fn.saved)  # only c / x saves anything: x and y


INTS = {
    "ints+3": (lambda x: x + 3, [4, 5, 6]),
    "3-ints": (lambda x: 3 - x, [2, 1, 0]),
    "ints*np.int64": (lambda x: x * np.int64(-2), [-2, -4, -6]),
    "True*ints": (lambda x: True * x, [1, 2, 3]),
}


@pytest.mark.parametrize("name", list(INTS))
def test_exact_integer_constants_keep_the_dtype(name: str, xp) -> None:
    form, expected = INTS[name]
    y = form(mg.Tensor(xp.asarray(np.arange(1, 4, dtype=np.int32))))
    assert y.dtype == np.int32
    np.testing.assert_array_equal(to_numpy(y.data), expected)


REFUSED = {
    "2/ints": (lambda x: 2 / x, ("ConstantDiv", "float dtype", "(3,) int32", "constant 2 int32")),
    "ints/2": (lambda x: x / 2, ("DivConstant", "float dtype", "(3,) int32", "constant 2 int32")),
    "0.5+ints": (lambda x: 0.5 + x, ("Add", "float64 constant", "int32")),
    "ints-np.float32": (lambda x: x - np.float32(0.5), ("Sub", "float64 constant", "int32")),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_an_int_tensor_refuses_a_constant_that_would_round(name: str, xp) -> None:
    form, parts = REFUSED[name]
    with pytest.raises(TypeError) as info:
        form(mg.Tensor(xp.asarray(np.arange(1, 4, dtype=np.int32))))
    for part in parts:
        assert part in str(info.value), f"{part!r} missing from {str(info.value)!r}"
