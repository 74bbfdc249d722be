"""The optimiser a StyleConfig names, built through minigrad.optim's Optimizer interface (optim-v1).

The loop calls only ``step(closure, loss)``, ``zero_grad()``, ``state_dict()`` and
``load_state_dict()``. Until minigrad.optim provides that interface itself, today's Adam is wrapped
here to it (the same numerics: the wrapper only adds the calling convention and the state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import minigrad as mg
from minigrad.backend import to_numpy

from .config import StyleConfig
from .errors import ConfigError

HAS_CONTRACT = hasattr(mg.optim, "OPTIMIZERS")  # optim-v1 merged


class _StatefulAdam(mg.optim.Adam):
    """minigrad's Adam with the Optimizer interface: step(closure, loss) and an exact state_dict."""

    def step(self, closure: Callable[[], float] | None = None, loss: float | None = None) -> None:  # noqa: ARG002
        super().step()

    def state_dict(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {"t": np.array(self.t)}
        for k, (m, v, powers) in enumerate(zip(self.m, self.v, self.powers)):
            if m is not None:
                state[f"m{k}"], state[f"v{k}"] = to_numpy(m), to_numpy(v)
                state[f"powers{k}"] = np.array(powers)
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        self.t = int(state["t"])
        for k, p in enumerate(self.params):
            if f"m{k}" in state:
                xp, dt = mg.backend.get_array_module(p.data), p.data.dtype.type
                self.m[k], self.v[k] = xp.asarray(state[f"m{k}"]), xp.asarray(state[f"v{k}"])
                self.powers[k] = tuple(dt(x) for x in state[f"powers{k}"])


def make_optimizer(params: list[mg.Tensor], config: StyleConfig) -> Any:
    """Adam or L-BFGS over ``params`` with the config's settings."""
    if config.optimizer == "adam":
        adam = mg.optim.Adam if HAS_CONTRACT else _StatefulAdam
        return adam(params, config.lr(), config.beta1, config.beta2, config.epsilon)
    if not HAS_CONTRACT:
        raise ConfigError("optimizer 'lbfgs' needs minigrad.optim.LBFGS, which this minigrad does not have")
    line_search = None if config.line_search == "none" else config.line_search
    return mg.optim.LBFGS(params, lr=config.lr(), history_size=config.lbfgs_history, line_search=line_search)
