"""Float64 directional finite-difference checks (minigrad.gradcheck) for every op and small networks.

Each op is checked through loss = sum(op(inputs) * R) with a fixed random R, along one random direction
over all inputs at once, on odd shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tf_reference import Input, draw, seeded_rng

import minigrad as mg
from minigrad.gradcheck import GradcheckError, check_directional


def weighted(op: Callable[..., mg.Tensor], arrays: list[Any], rng: np.random.Generator, xp: Any) -> Callable:
    """loss(*inputs) = sum(op(*inputs) * R) for a fixed random R of op's output shape."""
    with mg.no_grad():
        shape = op(*[mg.Tensor(a) for a in arrays]).shape
    r = mg.Tensor(xp.asarray(rng.standard_normal(shape)))
    return lambda *ts: (op(*ts) * r).sum()


def run_check(case_id: str, op: Callable[..., mg.Tensor], specs: tuple[Input, ...], xp: Any) -> None:
    rng = seeded_rng(case_id)
    arrays = [xp.asarray(draw(rng, s, np.float64)) for s in specs]
    analytic, numeric = check_directional(weighted(op, arrays, rng, xp), arrays)
    assert analytic != 0.0, f"{case_id}: a zero directional derivative checks nothing"


def _specs(*inputs: Input | tuple[int, ...]) -> tuple[Input, ...]:
    return tuple(i if isinstance(i, Input) else Input(i) for i in inputs)


OP_CASES: dict[str, tuple[Callable[..., mg.Tensor], tuple[Input, ...]]] = {
    "add-bcast": (lambda a, b: a + b, _specs((3, 5), (5,))),
    "sub-bcast": (lambda a, b: a - b, _specs((2, 3, 1), (1, 5))),
    "mul-bcast": (lambda a, b: a * b, _specs((3, 1, 5), (7, 1))),
    "div-bcast": (lambda a, b: a / b, _specs((3, 5), Input((3, 1), "nonzero"))),
    "rsub-scalar": (lambda x: 2.5 - x, _specs((3, 5))),
    "rdiv-scalar": (lambda x: 3.0 / x, _specs(Input((3, 5), "nonzero"))),
    "pow2": (lambda x: x**2, _specs((3, 5))),
    "pow3": (lambda x: x**3, _specs((3, 5))),
    "pow0.5": (lambda x: x**0.5, _specs(Input((3, 5), "positive"))),
    "pow-1.5": (lambda x: x**-1.5, _specs(Input((3, 5), "positive"))),
    "neg": (lambda x: -x, _specs((3, 5))),
    "sum-axes-keepdims": (lambda x: x.sum(axis=(0, 2), keepdims=True), _specs((3, 5, 7))),
    "sum-axis": (lambda x: mg.sum(x, axis=-1), _specs((3, 5, 7))),
    "mean-axis": (lambda x: x.mean(axis=1), _specs((3, 5, 7))),
    "mean-all": (lambda x: x.mean(), _specs((3, 5, 7))),
    "reshape": (lambda x: x.reshape(5, -1), _specs((3, 5, 7))),
    "transpose": (lambda x: x.transpose(2, 0, 1), _specs((3, 5, 7))),
    "slice-h": (lambda x: x[:, 1:, :, :], _specs((1, 5, 7, 3))),
    "slice-w": (lambda x: x[:, :, :-1, :], _specs((1, 5, 7, 3))),
    "slice-step": (lambda x: x[..., ::2], _specs((1, 5, 7, 3))),
    "matmul": (lambda a, b: a @ b, _specs((3, 5), (5, 7))),
    "matmul-batched": (mg.matmul, _specs((2, 3, 5), (5, 7))),
    "gram": (mg.gram, _specs((15, 7))),
    "relu": (mg.relu, _specs((3, 5, 7))),
    "l2_loss": (mg.l2_loss, _specs((3, 5, 7))),
    "conv-3x3-s1-SAME": (mg.conv2d, _specs((1, 7, 9, 3), (3, 3, 3, 4))),
    "conv-2x3-s2-VALID": (lambda x, w: mg.conv2d(x, w, 2, "VALID"), _specs((2, 7, 9, 2), (2, 3, 2, 3))),
    "conv-5x5-s2-SAME": (lambda x, w: mg.conv2d(x, w, 2, "SAME"), _specs((1, 7, 9, 2), (5, 5, 2, 3))),
    "conv-1x1-s2-SAME": (lambda x, w: mg.conv2d(x, w, 2), _specs((1, 7, 9, 3), (1, 1, 3, 2))),
    "conv-3x1-s1-16ch": (mg.conv2d, _specs((1, 5, 7, 16), (3, 1, 16, 16))),
    "conv-3x3-s1-16ch-VALID": (lambda x, w: mg.conv2d(x, w, 1, "VALID"), _specs((1, 7, 5, 16), (3, 3, 16, 16))),
    "conv-bias-3x3-s2": (lambda x, w, b: mg.conv2d(x, w, 2, bias=b), _specs((1, 7, 9, 3), (3, 3, 3, 4), (4,))),
    "conv-bias-16ch": (lambda x, w, b: mg.conv2d(x, w, bias=b), _specs((1, 5, 7, 16), (3, 3, 16, 16), (16,))),
    "max_pool-2-2-SAME": (lambda x: mg.max_pool(x, 2, 2, "SAME"), _specs((2, 7, 9, 3))),
    "max_pool-3-2-SAME": (lambda x: mg.max_pool(x, 3, 2, "SAME"), _specs((1, 7, 9, 3))),
    "max_pool-3-1-VALID": (lambda x: mg.max_pool(x, 3, 1, "VALID"), _specs((1, 7, 9, 3))),
    "max_pool-negative": (lambda x: mg.max_pool(x, 2, 2, "SAME"), _specs(Input((1, 7, 9, 3), "negative"))),
    "avg_pool-2-2-SAME": (lambda x: mg.avg_pool(x, 2, 2, "SAME"), _specs((2, 7, 9, 3))),
    "avg_pool-3-2-SAME": (lambda x: mg.avg_pool(x, 3, 2, "SAME"), _specs((1, 7, 9, 3))),
    "avg_pool-3-1-VALID": (lambda x: mg.avg_pool(x, 3, 1, "VALID"), _specs((1, 7, 9, 3))),
}


@pytest.mark.parametrize("case_id", list(OP_CASES))
def test_op_gradient(case_id: str, xp) -> None:
    op, specs = OP_CASES[case_id]
    run_check(case_id, op, specs, xp)


def network(x: mg.Tensor, w1: mg.Tensor, w2: mg.Tensor, w3: mg.Tensor) -> mg.Tensor:
    """conv -> relu -> max_pool -> conv -> avg_pool -> reshape -> matmul -> l2_loss."""
    h = mg.max_pool(mg.relu(mg.conv2d(x, w1)), 2, 2, "SAME")
    h = mg.avg_pool(mg.conv2d(h, w2, stride=1, padding="SAME"), 3, 2, "SAME")
    return mg.l2_loss(h.reshape(h.shape[0], -1) @ w3)


def style_loss(x: mg.Tensor, w: mg.Tensor, target: mg.Tensor, use_gram_op: bool) -> mg.Tensor:
    """A gram-matrix style loss plus total variation, as the stylize loop builds them."""
    f = mg.relu(mg.conv2d(x, w))
    _, h, wd, c = f.shape
    flat = f.reshape(h * wd, c)
    gram = (mg.gram(flat) if use_gram_op else flat.T @ flat) / float(h * wd * c)
    style = 2.0 * mg.l2_loss(gram - target) / float(target.size)
    dy, dx = x[:, 1:, :, :] - x[:, :-1, :, :], x[:, :, 1:, :] - x[:, :, :-1, :]
    tv = 2.0 * (mg.l2_loss(dy) / float(dy.size) + mg.l2_loss(dx) / float(dx.size))
    return style + 0.1 * tv


def test_network_gradient(xp) -> None:
    specs = _specs((2, 9, 7, 3), (3, 3, 3, 4), (2, 3, 4, 5), (30, 3))
    rng = seeded_rng("network")
    arrays = [xp.asarray(draw(rng, s, np.float64)) for s in specs]
    check_directional(network, arrays)


@pytest.mark.parametrize("use_gram_op", [True, False], ids=["mg.gram", "matmul"])
def test_style_loss_gradient(use_gram_op: bool, xp) -> None:
    rng = seeded_rng("style")
    x, w = (xp.asarray(draw(rng, Input(s), np.float64)) for s in ((1, 7, 9, 3), (3, 3, 3, 5)))
    target = mg.Tensor(xp.asarray(rng.standard_normal((5, 5)) * 0.1))
    check_directional(lambda x_, w_: style_loss(x_, w_, target, use_gram_op), [x, w])


class _WrongSquare(mg.Function):
    """x**2 with a backward that forgets the factor 2."""

    def forward(self, x: Any) -> Any:
        self.save(x)
        return x * x

    def backward(self, gy: Any) -> tuple[Any]:
        return (gy * self.saved[0],)


def test_gradcheck_catches_a_wrong_gradient(xp) -> None:
    x = xp.asarray(seeded_rng("wrong").standard_normal((3, 5)))
    with pytest.raises(GradcheckError, match="analytic"):
        check_directional(lambda t: _WrongSquare.apply(t).sum(), [x])
    check_directional(lambda t: (t * t).sum(), [x])  # the right one passes


def test_gradcheck_refuses_float32(xp) -> None:
    x = xp.asarray(np.ones((2, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="float64"):
        check_directional(lambda t: t.sum(), [x])
