"""L-BFGS's memory: curvature pairs and the two-loop recursion, over flat numpy or cupy vectors.

The inverse-Hessian approximation H is never formed. From H0 = gamma I and the pairs
(s_i, y_i), rho_i = 1 / y_i.s_i, oldest first, BFGS's update
H_{i+1} = (I - rho_i s_i y_i^T) H_i (I - rho_i y_i s_i^T) + rho_i s_i s_i^T
is applied to a vector by the two-loop recursion (Nocedal and Wright, algorithm 7.4).
Scalars stay 0-d arrays of the vectors' dtype, so a cupy run does not wait for the device.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import get_array_module, to_numpy
from .tensor import Tensor

# A pair is kept only when y.s exceeds this (as PyTorch's L-BFGS): it keeps H positive definite
# and rho finite; a step that barely changed the gradient carries no curvature worth keeping.
CURVATURE_MIN = 1e-10


def flatten(arrays: Sequence[Any]) -> Any:
    """One new contiguous vector holding every array, in order."""
    xp = get_array_module(*arrays)
    return xp.concatenate([a.reshape(-1) for a in arrays])


def _slices(params: Sequence[Tensor]) -> list[tuple[Tensor, slice]]:
    out, start = [], 0
    for p in params:
        out.append((p, slice(start, start + p.size)))
        start += p.size
    return out


def assign(params: Sequence[Tensor], flat: Any) -> None:
    """Each parameter's data, in place, from its part of ``flat``."""
    for p, part in _slices(params):
        p.data[...] = flat[part].reshape(p.shape)


def add_to(params: Sequence[Tensor], flat: Any) -> None:
    for p, part in _slices(params):
        p.data += flat[part].reshape(p.shape)


def two_loop(g: Any, pairs: Sequence[tuple[Any, Any, Any]], gamma: Any) -> Any:
    """H g for H built from H0 = gamma I and ``pairs`` (s, y, rho), oldest first."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * (s @ q)
        q -= alpha * y
        alphas.append(alpha)
    r = q
    r *= gamma
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * (y @ r)
        r += (alpha - beta) * s
    return r


class History:
    """The newest ``size`` curvature pairs of the run and gamma = s.y / y.y of the newest."""

    def __init__(self, size: int) -> None:
        self.pairs: deque[tuple[Any, Any, Any]] = deque(maxlen=size)
        self.gamma: Any = None

    def add(self, s: Any, y: Any) -> bool:
        """Keep (s, y) when y.s > CURVATURE_MIN; whether it was kept."""
        ys = y @ s
        if not float(ys) > CURVATURE_MIN:  # also NaN
            return False
        self.pairs.append((s, y, 1 / ys))
        self.gamma = ys / (y @ y)
        return True

    def clear(self) -> None:
        self.pairs.clear()
        self.gamma = None

    def direction(self, g: Any) -> Any:
        """-H g; -g while no pair is kept."""
        if not self.pairs:
            return -g
        d = two_loop(g, list(self.pairs), self.gamma)
        return -d

    def state(self) -> dict[str, np.ndarray]:
        if not self.pairs:
            return {}
        s, y, rho = zip(*self.pairs)
        stack = [np.stack([to_numpy(a) for a in arrays]) for arrays in (s, y)]
        return {
            "s": stack[0],
            "y": stack[1],
            "rho": np.stack([to_numpy(r) for r in rho]),
            "gamma": to_numpy(self.gamma),
        }

    def load(self, state: dict[str, Any]) -> None:
        """From arrays already on the parameters' backend (as ``state`` gives them, or none)."""
        self.clear()
        if not state:
            return
        for s, y, rho in zip(state["s"], state["y"], state["rho"]):
            self.pairs.append((s.copy(), y.copy(), rho.copy()))
        self.gamma = state["gamma"]
