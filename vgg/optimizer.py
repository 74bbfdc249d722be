"""The optimiser a StyleConfig names, through minigrad.optim's Optimizer interface.

The loop calls only ``step(closure, loss)``, ``zero_grad()``, ``state_dict()`` and ``load_state_dict()``.
"""

from __future__ import annotations

import minigrad as mg

from .config import StyleConfig


def make_optimizer(params: list[mg.Tensor], config: StyleConfig) -> mg.optim.Optimizer:
    """Adam or L-BFGS over ``params`` with the config's settings."""
    if config.optimizer == "adam":
        return mg.optim.Adam(params, config.lr(), config.beta1, config.beta2, config.epsilon)
    line_search = None if config.line_search == "none" else config.line_search
    return mg.optim.LBFGS(params, lr=config.lr(), history_size=config.lbfgs_history, line_search=line_search)
