"""StyleConfig: every setting of the algorithm, with its default, in one place (the CLI's flags are its fields).

The defaults are the original's, except iterations (docs/REFERENCE.md section 5); the loss weights the
objective uses by default are read from here (vgg.style.losses), and so is the read-back default per backend.
How a run is shown or recorded (progress lines, loss files, logs) is no setting of the algorithm: the
listeners of vgg.report take those.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.backend import BACKENDS
from minigrad.optim import LINE_SEARCHES as _SEARCHES
from minigrad.optim import OPTIMIZERS

from ..errors import ConfigError
from ..net.layers import POOLINGS

NOISE_STD = 0.256  # of the initial noise, in the preprocessed 0..255 space
LINE_SEARCHES = tuple("none" if s is None else s for s in _SEARCHES)  # "none" is None to minigrad
LEARNING_RATES = {"adam": 1e1, "lbfgs": 1.0}  # the default of each optimiser
# The settings that take one of a few names, and those names
CHOICES = {"optimizer": OPTIMIZERS, "line_search": LINE_SEARCHES, "pooling": POOLINGS, "backend": BACKENDS}
# On a GPU, reading the loss back is a host-device synchronisation that stalls the queue of kernels:
# there the loss is read (checked for NaN/inf, the best finite image kept) only every this many
# iterations and wherever it is printed or checkpointed anyway. On the CPU: every iteration.
READBACK_EVERY = {"numpy": 1, "cupy": 10}


@dataclass
class StyleConfig:
    """Every setting of the loop; the defaults are the original's, except iterations (docs/REFERENCE.md section 5)."""

    iterations: int = 100
    content_weight: float = 5e0
    content_weight_blend: float = 1.0
    style_weight: float = 1e2
    style_layer_weight_exp: float = 1.0
    style_blend_weights: Sequence[float] | None = None
    tv_weight: float = 1e2
    optimizer: str = "adam"
    learning_rate: float | None = None  # None: the optimiser's own default (LEARNING_RATES)
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    lbfgs_history: int = 100
    line_search: str = "none"
    scales: Sequence[int] | None = None  # coarse-to-fine content widths, ascending
    scale_iterations: Sequence[int] | None = None  # iterations at each scale (default: `iterations` each)
    style_scales: Sequence[float] | None = None  # with `scales`: style i resized by s_i * width / its width
    pooling: str = "max"
    initial_noiseblend: float | None = None
    preserve_colors: bool = False
    print_iterations: int | None = None
    checkpoint_iterations: int | None = None
    seed: int | None = None
    backend: str = "numpy"
    readback_every: int | None = None  # None: READBACK_EVERY[backend]
    memory_limit: int | None = None  # bytes the planner may use per scale (vgg.style.plans); None: the plain graph

    def validate(self, n_styles: int) -> None:
        """ConfigError (one line) for a setting of the wrong type, out of range, degenerate in float32, or not
        matching the styles."""
        problems = _type_problems(self)  # first: the range checks compare numbers
        problems = problems or _problems(self, n_styles) + _feature_problems(self, n_styles) + _float32_problems(self)
        if problems:
            raise ConfigError(problems[0])

    def blend_weights(self, n_styles: int) -> list[float]:
        """1/n each by default; given ones normalised to sum 1."""
        if self.style_blend_weights is None:
            return [1.0 / n_styles for _ in range(n_styles)]
        total = sum(self.style_blend_weights)
        return [w / total for w in self.style_blend_weights]

    def noiseblend(self, has_initial: bool) -> float:
        """0 (no noise) with an initial image, 1 (all noise) without, unless set."""
        if self.initial_noiseblend is not None:
            return self.initial_noiseblend
        return 0.0 if has_initial else 1.0

    def lr(self) -> float:
        """The learning rate: the one set, else the optimiser's default."""
        return LEARNING_RATES[self.optimizer] if self.learning_rate is None else self.learning_rate

    def readback(self) -> int:
        """Read the losses back every this many iterations (plus printed and checkpointed ones)."""
        return READBACK_EVERY.get(self.backend, 1) if self.readback_every is None else self.readback_every

    def stage_iterations(self) -> list[int]:
        """Iterations of each stage: one stage without `scales`, one per scale with them."""
        if self.scales is None:
            return [self.iterations]
        return list(self.scale_iterations or [self.iterations] * len(self.scales))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def make_config(config: StyleConfig | None, settings: Mapping[str, Any]) -> StyleConfig:
    """``config`` (default StyleConfig()) with ``settings`` replaced; an unknown name is a ConfigError."""
    names = {f.name for f in dataclasses.fields(StyleConfig)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; the settings are the fields of StyleConfig")
    return dataclasses.replace(config or StyleConfig(), **settings)


SEED_MAX = 2**32 - 1  # numpy's legacy seeding range, which every reproducible tool accepts
FLOAT32 = np.finfo(np.float32)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, (float, np.floating))) and math.isfinite(float(v))


def _kind(field: dataclasses.Field) -> tuple[str, bool, bool]:
    """(base type name, a sequence of them, may be None) of a field, from its annotation."""
    text = str(field.type)
    optional = text.endswith(" | None")
    text = text.removesuffix(" | None")
    many = text.startswith("Sequence[")
    return (text[len("Sequence[") : -1] if many else text), many, optional


def _type_problems(c: StyleConfig) -> list[str]:
    """A setting of the wrong type (a string, 2.5 iterations, NaN): named, with what was expected."""
    checks = {"int": (_is_int, "an integer"), "float": (_is_real, "a finite number"),
              "bool": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
              "str": (lambda v: isinstance(v, str), "a string")}  # fmt: skip
    out = []
    for field in dataclasses.fields(c):
        value, (base, many, optional) = getattr(c, field.name), _kind(field)
        if value is None and optional:
            continue
        ok, expected = checks[base]
        items = list(value) if many and isinstance(value, (list, tuple, np.ndarray)) else None
        if many and (items is None or not all(ok(v) for v in items)):
            out.append(
                f"{field.name} must be a list of {expected.removeprefix('a ').removeprefix('an ')}s, got {value!r}"
            )
        elif not many and not ok(value):
            out.append(f"{field.name} must be {expected}, got {value!r}")
    if not out and c.seed is not None and not 0 <= c.seed <= SEED_MAX:
        out.append(f"seed must be from 0 to {SEED_MAX}, got {c.seed}")
    return out


def _finite_sum(values: Sequence[float]) -> bool:
    try:
        return math.isfinite(math.fsum(values))
    except OverflowError:
        return False


def _float32_problems(c: StyleConfig) -> list[str]:
    """Values in range that the float32 computation cannot use: they would overflow, round to 1 or to 0."""
    largest = float(FLOAT32.max)
    scalars = {"content_weight": c.content_weight, "style_weight": c.style_weight, "tv_weight": c.tv_weight,
               "learning_rate": c.learning_rate or 0.0}  # fmt: skip
    out = [f"{name} is too large for float32 (at most {largest:.3g}), got {v:g}"
           for name, v in scalars.items() if abs(v) > largest]  # fmt: skip
    for name, beta in (("beta1", c.beta1), ("beta2", c.beta2)):
        if np.float32(beta) >= 1:
            out.append(
                f"{name} {beta!r} rounds to 1 in float32, which stops Adam's bias correction; use at most 0.9999999"
            )
    tiny = float(FLOAT32.tiny)
    if c.epsilon < tiny:
        out.append(f"epsilon must be at least {tiny:.3g} (float32's smallest normal number), got {c.epsilon!r}: "
                   "with 0 a pixel whose gradient is 0 divides 0 by 0")  # fmt: skip
    if c.learning_rate is not None and 0 < c.learning_rate < tiny:
        out.append(f"learning_rate {c.learning_rate!r} underflows float32 (at least {tiny:.3g}): no step would move")
    if c.style_blend_weights is not None and not _finite_sum(c.style_blend_weights):
        out.append("style_blend_weights: their sum overflows; give them on a smaller scale (only their ratios count)")
    try:
        layer = [float(c.style_layer_weight_exp) ** k for k in range(5)]
        ok = all(math.isfinite(w) for w in layer) and math.isfinite(sum(layer))
    except OverflowError:
        ok = False
    if not ok and c.style_layer_weight_exp > 0:
        out.append(f"style_layer_weight_exp {c.style_layer_weight_exp:g} overflows when raised to the 4th power "
                   "(one per style layer); at most about 1e75")  # fmt: skip
    return out


def _problems(c: StyleConfig, n_styles: int) -> list[str]:
    blend = c.style_blend_weights
    optional = (("print_iterations", c.print_iterations), ("checkpoint_iterations", c.checkpoint_iterations))
    checks = [
        (n_styles >= 1, "at least one style image is needed"),
        (c.iterations > 0, f"iterations must be positive, got {c.iterations}"),
        *((v is None or v > 0, f"{name} must be positive, got {v}") for name, v in optional),
        (c.learning_rate is None or c.learning_rate > 0, f"learning_rate must be positive, got {c.learning_rate}"),
        (
            blend is None or len(blend) == n_styles,
            f"style_blend_weights: {len(blend or [])} weights for {n_styles} styles",
        ),
        (
            blend is None or (len(blend) > 0 and min(blend) >= 0 and sum(blend) > 0),
            "style_blend_weights must be >= 0, not all 0",
        ),
        (c.style_layer_weight_exp > 0, f"style_layer_weight_exp must be positive, got {c.style_layer_weight_exp}"),
        (0 <= c.beta1 < 1 and 0 <= c.beta2 < 1, f"beta1 and beta2 must be in [0, 1), got {c.beta1}, {c.beta2}"),
        (c.initial_noiseblend is None or 0 <= c.initial_noiseblend <= 1, "initial_noiseblend must be in [0, 1]"),
        (c.pooling in POOLINGS, f"pooling must be one of {', '.join(POOLINGS)}, got {c.pooling!r}"),
    ]
    return [message for ok, message in checks if not ok]


def _feature_problems(c: StyleConfig, n_styles: int) -> list[str]:
    checks = [
        (c.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {c.optimizer!r}"),
        (c.lbfgs_history > 0, f"lbfgs_history must be positive, got {c.lbfgs_history}"),
        (
            c.line_search in LINE_SEARCHES,
            f"line_search must be one of {', '.join(LINE_SEARCHES)}, not {c.line_search!r}",
        ),
        (c.readback_every is None or c.readback_every > 0, f"readback_every must be positive, got {c.readback_every}"),
        (c.memory_limit is None or c.memory_limit > 0, f"memory_limit must be positive bytes, got {c.memory_limit}"),
    ]
    return [message for ok, message in checks if not ok] + _scale_problems(c, n_styles)


def _scale_problems(c: StyleConfig, n_styles: int) -> list[str]:
    widths, counts, style_scales = c.scales, c.scale_iterations, c.style_scales
    n_widths, n_counts, n_style_scales = len(widths or []), len(counts or []), len(style_scales or [])
    checks = [
        (widths is None or n_widths > 0, "scales: give at least one width"),
        (widths is None or min(widths, default=1) > 0, f"scales must be positive widths, got {widths}"),
        (widths is None or list(widths) == sorted(set(widths)), f"scales must be ascending widths, got {widths}"),
        (counts is None or widths is not None, "scale_iterations needs scales"),
        (counts is None or len(counts) == n_widths, f"scale_iterations: {n_counts} values for {n_widths} widths"),
        (counts is None or min(counts, default=1) > 0, f"scale_iterations must be positive, got {counts}"),
        (
            style_scales is None or len(style_scales) == n_styles,
            f"style_scales: {n_style_scales} values for {n_styles} styles",
        ),
        (style_scales is None or min(style_scales, default=1) > 0, "style_scales must be positive"),
    ]
    return [message for ok, message in checks if not ok]
