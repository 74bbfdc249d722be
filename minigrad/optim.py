"""Optimisers over Tensors with requires_grad=True."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .backend import get_array_module
from .tensor import Tensor


class Adam:
    """Adam exactly as TensorFlow 1's tf.train.AdamOptimizer.

    lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
    x -= lr_t * m / (sqrt(v) + epsilon). Epsilon is added to sqrt(v) unscaled (TF 1's
    "epsilon hat"), not to the bias-corrected v as in the paper's Algorithm 1. The moments
    are updated as m += (g - m) * (1 - b1), the algebraically equal form TF's kernel uses.
    Everything is computed in the parameter's dtype; TF 1 keeps its hyperparameters and beta
    powers in float32 even for float64 variables, so float64 runs differ from TF's by ~1e-5
    after a few steps (float32 runs, the program's, agree to rounding).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        self.params = list(params)
        for p in self.params:
            if not p.requires_grad:
                raise ValueError(f"Adam: parameter {p!r} does not have requires_grad=True")
        if lr <= 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or epsilon < 0:
            raise ValueError(
                f"Adam: expected lr > 0, 0 <= beta1, beta2 < 1, epsilon >= 0; got "
                f"lr={lr}, beta1={beta1}, beta2={beta2}, epsilon={epsilon}"
            )
        self.lr, self.beta1, self.beta2, self.epsilon = lr, beta1, beta2, epsilon
        self.t = 0
        self.m = [None] * len(self.params)
        self.v = [None] * len(self.params)
        self.powers: list = [None] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self.t += 1
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._update(i, p)

    def _update(self, i: int, p: Tensor) -> None:
        # TF keeps beta1^t and beta2^t as variables of the parameter's dtype, multiplied once a
        # step, and evaluates alpha and the update in that dtype, in this order: we do the same
        # so that float32 runs agree with TF to the last bit or so.
        xp, dt = get_array_module(p.data), p.data.dtype.type
        if self.m[i] is None:
            self.m[i], self.v[i] = xp.zeros_like(p.data), xp.zeros_like(p.data)
            self.powers[i] = (dt(1), dt(1))
        b1, b2 = dt(self.beta1), dt(self.beta2)
        b1_power, b2_power = self.powers[i]
        b1_power, b2_power = dt(b1_power * b1), dt(b2_power * b2)
        self.powers[i] = (b1_power, b2_power)
        alpha = dt(dt(self.lr) * np.sqrt(dt(1) - b2_power)) / (dt(1) - b1_power)  # host scalars
        g, m, v = p.grad, self.m[i], self.v[i]
        m += (g - m) * (dt(1) - b1)
        v += (g * g - v) * (dt(1) - b2)
        p.data -= (m * dt(alpha)) / (xp.sqrt(v) + dt(self.epsilon))
