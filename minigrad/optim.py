"""Optimisers over Tensors with requires_grad=True: Adam (as TensorFlow 1's) and L-BFGS.

Both follow one protocol. Before ``step()`` the caller has evaluated the loss at the current point
and run backward, so every parameter's ``.grad`` is the gradient there; one ``step()`` is one
accepted update. ``closure()`` (zero the gradients, forward, backward, return the loss as a float)
is called only by an optimiser that needs more evaluations (L-BFGS with its line search).
``state_dict()`` holds everything the next steps depend on as numpy arrays, so ``np.savez``
stores it without pickle, and ``load_state_dict`` restores it exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from . import lbfgs
from .backend import get_array_module, to_numpy
from .line_search import C2, StrongWolfe
from .tensor import Tensor

OPTIMIZERS = ("adam", "lbfgs")
LINE_SEARCHES = (None, "strong_wolfe")

Closure = Callable[[], float]


class Optimizer:
    """The protocol both optimisers satisfy (see the module docstring)."""

    def __init__(self, params: Iterable[Tensor]) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{self.name}: expected at least one parameter")
        for p in self.params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ValueError(f"{self.name}: parameter {p!r} is not a Tensor with requires_grad=True")

    @property
    def name(self) -> str:
        return type(self).__name__

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self, closure: Closure | None = None, loss: float | None = None) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        raise NotImplementedError

    def expected_state(self, state: Mapping[str, np.ndarray]) -> dict[str, tuple[tuple[int, ...], Any]]:
        """{key: (shape, dtype)} that a state_dict of this optimiser over these parameters has (``state`` says
        which optional parts it holds); ValueError where ``state`` cannot be one at all."""
        raise NotImplementedError

    def check_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """ValueError naming the first key of ``state`` that is missing, unexpected, of another shape or dtype, or
        not finite; nothing is copied (a saved state can be checked before anything is built from it)."""
        like = self.expected_state(state)
        if set(state) != set(like):
            missing, extra = sorted(set(like) - set(state)), sorted(set(state) - set(like))
            raise ValueError(f"{self.name}: keys differ (missing {missing}, unexpected {extra})")
        for key, (shape, dtype) in like.items():
            value = state[key]
            if tuple(np.shape(value)) != tuple(shape) or np.asarray(value).dtype != dtype:
                raise ValueError(
                    f"{self.name}: {key!r} is {tuple(np.shape(value))} {np.asarray(value).dtype}, expected "
                    f"{tuple(shape)} {np.dtype(dtype)}"
                )
            if np.asarray(value).dtype.kind == "f" and not np.isfinite(value).all():
                raise ValueError(f"{self.name}: {key!r} holds NaN or infinity")

    def _restore(self, state: Mapping[str, np.ndarray]) -> dict:
        """The arrays of ``state`` on the parameters' backend, after check_state_dict."""
        try:
            self.check_state_dict(state)
        except ValueError as exc:
            raise ValueError(f"{self.name}.load_state_dict: {str(exc).removeprefix(self.name + ': ')}") from None
        xp = get_array_module(self.params[0].data)
        return {key: xp.array(value, dtype=value.dtype, copy=True) for key, value in state.items()}


class Adam(Optimizer):
    """Adam exactly as TensorFlow 1's tf.compat.v1.train.AdamOptimizer.

    lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
    x -= lr_t * m / (sqrt(v) + epsilon). Epsilon is added to sqrt(v) unscaled (TF 1's
    "epsilon hat"), not to the bias-corrected v as in the paper's Algorithm 1. The moments
    are updated as m += (g - m) * (1 - b1), the algebraically equal form TF's kernel uses.

    TF 1 keeps beta1^t and beta2^t as two non-slot variables of the optimizer, shared by all
    variables (placed with the first one by name) and created from Python floats, so float32;
    each step's kernel casts them, lr, betas and epsilon to the variable's dtype, and _finish
    multiplies the powers by beta once per step. We keep one shared pair too, in the first
    parameter's dtype, and compute everything in the parameter's dtype: for float32 (the
    program's) that is TF's arithmetic (tests/test_optim.py compares it within 1e-6 relative); float64 runs
    differ from TF's by up to ~1e-5 relative, mostly its 1 - beta2^t in float32 (off by 1.3e-5 at t = 1).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__(params)
        if not lr > 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not epsilon >= 0:
            raise ValueError(
                f"Adam: expected lr > 0, 0 <= beta1, beta2 < 1, epsilon >= 0; got "
                f"lr={lr}, beta1={beta1}, beta2={beta2}, epsilon={epsilon}"
            )
        self.lr, self.beta1, self.beta2, self.epsilon = lr, beta1, beta2, epsilon
        dt = self.params[0].data.dtype.type
        self.beta1_power, self.beta2_power = dt(1), dt(1)
        self.m: list[Any] = [None] * len(self.params)
        self.v: list[Any] = [None] * len(self.params)

    def step(self, closure: Closure | None = None, loss: float | None = None) -> None:
        """One update of every parameter that has a gradient (closure and loss are not needed)."""
        dt = type(self.beta1_power)
        self.beta1_power = dt(self.beta1_power * dt(self.beta1))
        self.beta2_power = dt(self.beta2_power * dt(self.beta2))
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._update(i, p)

    def _update(self, i: int, p: Tensor) -> None:
        # alpha and the update in the parameter's dtype, in the order of TF's ApplyAdam kernel; for float32
        # parameters that is TF's arithmetic (docs/REFERENCE.md section 3; how closely runs agree with TF: section 8)
        xp, dt = get_array_module(p.data), p.data.dtype.type
        if self.m[i] is None:
            self.m[i], self.v[i] = xp.zeros_like(p.data), xp.zeros_like(p.data)
        b1, b2 = dt(self.beta1), dt(self.beta2)
        b1_power, b2_power = dt(self.beta1_power), dt(self.beta2_power)
        alpha = dt(dt(self.lr) * np.sqrt(dt(1) - b2_power)) / (dt(1) - b1_power)  # host scalars
        g, m, v = p.grad, self.m[i], self.v[i]
        m += (g - m) * (dt(1) - b1)
        v += (g * g - v) * (dt(1) - b2)
        p.data -= (m * dt(alpha)) / (xp.sqrt(v) + dt(self.epsilon))

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"beta1_power": np.array(self.beta1_power), "beta2_power": np.array(self.beta2_power)}
        for i, (m, v) in enumerate(zip(self.m, self.v)):
            if m is not None:
                state[f"m.{i}"], state[f"v.{i}"] = np.array(to_numpy(m)), np.array(to_numpy(v))
        return state

    def expected_state(self, state: Mapping[str, np.ndarray]) -> dict[str, tuple[tuple[int, ...], Any]]:
        dt = self.params[0].data.dtype
        like = {"beta1_power": ((), dt), "beta2_power": ((), dt)}
        for i, p in enumerate(self.params):
            if f"m.{i}" in state:
                like[f"m.{i}"] = like[f"v.{i}"] = (p.shape, p.dtype)
        for key in ("beta1_power", "beta2_power"):  # beta ** t: in (0, 1]
            if key in state and np.shape(state[key]) == () and not 0 < float(state[key]) <= 1:
                raise ValueError(f"{self.name}: {key!r} is {float(state[key])!r}, expected a power of beta in (0, 1]")
        return like

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        dt = self.params[0].data.dtype
        restored = self._restore(state)
        self.beta1_power, self.beta2_power = dt.type(state["beta1_power"]), dt.type(state["beta2_power"])
        self.m = [restored.get(f"m.{i}") for i in range(len(self.params))]
        self.v = [restored.get(f"v.{i}") for i in range(len(self.params))]


class LBFGS(Optimizer):
    """Limited-memory BFGS over the parameters as one flat vector (see minigrad/lbfgs.py).

    Each step turns the last step s and the change of gradient y into a curvature pair (skipped
    unless y.s > CURVATURE_MIN), keeps the latest ``history_size`` pairs for the whole run, and
    moves along d = -H g from the two-loop recursion, H0 = (s.y / y.y) I from the newest pair.
    Without a line search the step is lr * d, the first one scaled by min(1, 1/|g|_1) as PyTorch's
    and the peers' L-BFGS do; with ``line_search="strong_wolfe"`` that is the first trial step of
    a strong-Wolfe search (minigrad/line_search.py), which calls ``closure``. ``curvature`` is
    that search's c2: 0.9 by default; near 0 it minimises along each line, with which L-BFGS with
    history_size >= n ends on an n-dimensional convex quadratic in n steps (as conjugate gradients).
    Where the gradient is exactly zero the step leaves the parameters as they are.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1.0,
        history_size: int = 100,
        line_search: str | None = None,
        *,
        curvature: float = C2,
    ) -> None:
        super().__init__(params)
        if not lr > 0 or int(history_size) != history_size or history_size < 1 or not 0 < curvature < 1:
            raise ValueError(
                f"LBFGS: expected lr > 0, an integer history_size >= 1 and 0 < curvature < 1; "
                f"got {lr}, {history_size}, {curvature}"
            )
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"LBFGS: line_search must be None or 'strong_wolfe', got {line_search!r}")
        dtypes = {p.dtype for p in self.params}
        if len(dtypes) > 1:
            raise TypeError(f"LBFGS: expected parameters of one dtype, got {sorted(map(str, dtypes))}")
        self.lr, self.line_search, self.curvature = lr, line_search, curvature
        self.memory = lbfgs.History(int(history_size))
        self.iterations = 0
        self.previous: tuple[Any, Any] | None = None  # the last step's gradient and s

    def step(self, closure: Closure | None = None, loss: float | None = None) -> None:
        if self.line_search is not None and closure is None:
            raise ValueError("LBFGS: the strong-Wolfe line search needs a closure")
        g = lbfgs.flatten([p.grad if p.grad is not None else p.xp.zeros_like(p.data) for p in self.params])
        if not bool((g != 0).any()):  # a stationary point (e.g. every loss weight 0): nowhere to go
            self.previous = None
            self.iterations += 1
            return
        if self.previous is not None:
            self.memory.add(self.previous[1], g - self.previous[0])
        d = self.memory.direction(g)
        slope = float(d @ g)
        if not slope < 0:  # not a descent direction (rounding, or a non-finite gradient): start over
            self.memory.clear()
            d, slope = -g, -float(g @ g)
        first = self.previous is None  # the first step, or the first after a zero gradient: no scale known
        t = self.lr * (min(1.0, 1.0 / float(abs(g).sum())) if first else 1.0)
        if self.line_search is not None:
            t = self._search(closure, loss, d, slope, t)
            s = t * d
        else:
            s = t * d
            lbfgs.add_to(self.params, s)
        if t == 0:  # the search found no lower point along d: the next step starts from -g
            self.memory.clear()
        self.previous = (g, s)
        self.iterations += 1

    def _search(self, closure: Closure, loss: float | None, d: Any, slope: float, t: float) -> float:
        x0 = lbfgs.flatten([p.data for p in self.params])
        if loss is None:
            loss = float(closure())

        def phi(step: float) -> tuple[float, float]:
            lbfgs.assign(self.params, x0 + step * d)
            f = float(closure())
            return f, float(lbfgs.flatten([p.grad for p in self.params]) @ d)

        accepted = StrongWolfe(phi, float(loss), slope, self.curvature)(t)
        lbfgs.assign(self.params, x0 + accepted.t * d)
        return accepted.t

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"history.{k}": v for k, v in self.memory.state().items()}
        state["iterations"] = np.array(self.iterations, dtype=np.int64)
        if self.previous is not None:
            state["previous.grad"] = np.array(to_numpy(self.previous[0]))
            state["previous.step"] = np.array(to_numpy(self.previous[1]))
        return state

    def expected_state(self, state: Mapping[str, np.ndarray]) -> dict[str, tuple[tuple[int, ...], Any]]:
        n, dt = sum(p.size for p in self.params), self.params[0].dtype
        like: dict[str, tuple[tuple[int, ...], Any]] = {"iterations": ((), np.int64)}
        if "history.s" in state:
            k = np.shape(state["history.s"])[0] if np.ndim(state["history.s"]) else 0
            if not 0 < k <= self.memory.pairs.maxlen:
                raise ValueError(f"{self.name}: 'history.s' holds {k} pairs, expected 1 to {self.memory.pairs.maxlen}")
            like.update({"history.s": ((k, n), dt), "history.y": ((k, n), dt), "history.rho": ((k,), dt)})
            like["history.gamma"] = ((), dt)
        if "previous.grad" in state:
            like["previous.grad"] = like["previous.step"] = ((n,), dt)
        if "iterations" in state and np.shape(state["iterations"]) == () and int(state["iterations"]) < 0:
            raise ValueError(f"{self.name}: 'iterations' is {int(state['iterations'])}, expected 0 or more")
        return like

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        restored = self._restore(state)
        self.memory.load({k.split(".", 1)[1]: v for k, v in restored.items() if k.startswith("history.")})
        self.iterations = int(state["iterations"])
        self.previous = (restored["previous.grad"], restored["previous.step"]) if "previous.grad" in state else None
