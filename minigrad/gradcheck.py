"""Numerical gradient checks for tests and for users.

``check_directional`` compares the analytic directional derivative <grad f(x), d> with a
central finite difference (f(x + h d) - f(x - h d)) / 2h along one random direction d per
input: two forward passes however many inputs there are, so whole networks are cheap to
check. Run it in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd import no_grad
from .backend import get_array_module
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def _scalar(y: Tensor) -> float:
    if y.size != 1:
        raise ValueError(f"gradcheck: the function must return a scalar, got shape {y.shape}")
    return float(y.numpy().reshape(-1)[0])


def directional_derivatives(
    fn: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6, seed: int = 0
) -> tuple[float, float]:
    """(analytic, numeric) derivative of fn(*inputs) along one random unit direction."""
    arrays = [t.data if isinstance(t, Tensor) else t for t in inputs]
    xp = get_array_module(*arrays)
    rng = np.random.default_rng(seed)
    directions = [xp.asarray(rng.standard_normal(a.shape)).astype(a.dtype) for a in arrays]
    norm = float(np.sqrt(sum(float((d * d).sum()) for d in directions)))
    directions = [d / d.dtype.type(norm) for d in directions]

    params = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    fn(*params).backward()
    analytic = sum(float((p.grad * d).sum()) for p, d in zip(params, directions) if p.grad is not None)

    with no_grad():
        plus = _scalar(fn(*[Tensor(a + eps * d) for a, d in zip(arrays, directions)]))
        minus = _scalar(fn(*[Tensor(a - eps * d) for a, d in zip(arrays, directions)]))
    return analytic, (plus - minus) / (2 * eps)


def check_directional(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    seed: int = 0,
) -> tuple[float, float]:
    """Raise GradcheckError unless the analytic and numeric directional derivatives agree."""
    for a in inputs:
        data = a.data if isinstance(a, Tensor) else a
        if data.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs must be float64 for a meaningful check, got {data.dtype}")
    analytic, numeric = directional_derivatives(fn, inputs, eps, seed)
    if not abs(analytic - numeric) <= atol + rtol * max(abs(analytic), abs(numeric)):
        raise GradcheckError(
            f"gradcheck: analytic {analytic!r} vs numeric {numeric!r} (|diff| {abs(analytic - numeric):.3g})"
        )
    return analytic, numeric
