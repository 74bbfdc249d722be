"""The stylize loop: the seed's losses minimised by TF 1's Adam over the image alone.

``stylize(...)`` is a generator like the original's: it yields ``(iteration, image)`` at every
checkpoint (0-based ``iteration``) and ``(None, image)`` once at the end, ``image`` being the best
image so far (lowest loss at the checkpoints), unprocessed to RGB 0..255 floats (not clipped).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

import minigrad as mg
from minigrad.backend import to_numpy

from . import images
from .errors import ConfigError, LossNotFiniteError
from .history import History
from .losses import Losses, Objective
from .matconvnet import load_vgg19
from .model import POOLINGS, VGG19
from .progress import MODES, Reporter

NOISE_STD = 0.256  # of the initial noise, in the preprocessed 0..255 space


@dataclass
class StyleConfig:
    """Every setting of the loop; the defaults are the original's (SPEC section 5)."""

    iterations: int = 100
    content_weight: float = 5e0
    content_weight_blend: float = 1.0
    style_weight: float = 1e2
    style_layer_weight_exp: float = 1.0
    style_blend_weights: Sequence[float] | None = None
    tv_weight: float = 1e2
    learning_rate: float = 1e1
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    pooling: str = "max"
    initial_noiseblend: float | None = None
    preserve_colors: bool = False
    print_iterations: int | None = None
    checkpoint_iterations: int | None = None
    seed: int | None = None
    backend: str = "numpy"
    progress: str = "auto"
    progress_write: str | None = None
    progress_plot: str | None = None

    def validate(self, n_styles: int) -> None:
        """ConfigError (one line) for a setting out of range or not matching the styles."""
        problems = _problems(self, n_styles)
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

    def is_checkpoint(self, i: int) -> bool:
        return bool(self.checkpoint_iterations) and i % self.checkpoint_iterations == 0

    def is_print(self, i: int) -> bool:
        return bool(self.print_iterations) and i % self.print_iterations == 0


def _problems(c: StyleConfig, n_styles: int) -> list[str]:
    blend = c.style_blend_weights
    optional = (("print_iterations", c.print_iterations), ("checkpoint_iterations", c.checkpoint_iterations))
    checks = [
        (n_styles >= 1, "at least one style image is needed"),
        (c.iterations > 0, f"iterations must be positive, got {c.iterations}"),
        *((v is None or v > 0, f"{name} must be positive, got {v}") for name, v in optional),
        (c.learning_rate > 0, f"learning_rate must be positive, got {c.learning_rate}"),
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
        (c.epsilon >= 0, f"epsilon must be >= 0, got {c.epsilon}"),
        (c.initial_noiseblend is None or 0 <= c.initial_noiseblend <= 1, "initial_noiseblend must be in [0, 1]"),
        (c.pooling in POOLINGS, f"pooling must be one of {', '.join(POOLINGS)}, got {c.pooling!r}"),
        (c.progress in MODES, f"progress must be one of {', '.join(MODES)}, got {c.progress!r}"),
        (c.progress_write is None or c.progress_write != c.progress_plot, "progress_write and progress_plot are equal"),
    ]
    return [message for ok, message in checks if not ok]


def initial_image(
    content: np.ndarray,
    initial: np.ndarray | None,
    mean_pixel: np.ndarray,
    config: StyleConfig,
    dtype: Any = np.float32,
) -> np.ndarray:
    """The (1, H, W, 3) preprocessed start: initial (or content) blended with N(0, 0.256^2) noise."""
    blend = config.noiseblend(initial is not None)
    shape = (1, *content.shape[:2], 3)
    base = initial if initial is not None else content
    start = None if blend == 1 else images.preprocess(images.resize(base, content.shape[:2]), mean_pixel, dtype)[None]
    if blend == 0:
        return start
    noise = np.random.default_rng(config.seed).standard_normal(shape, dtype=np.float32) * np.float32(NOISE_STD)
    noise = noise.astype(dtype, copy=False)
    if start is None:
        return noise
    return (start * (1.0 - blend) + noise * blend).astype(dtype, copy=False)


def _network(network: VGG19 | str | os.PathLike, config: StyleConfig) -> VGG19:
    try:
        if isinstance(network, VGG19):
            if (network.pooling, network.backend) == (config.pooling, config.backend):
                return network
            return network.replace(pooling=config.pooling, backend=config.backend)
        return load_vgg19(network, pooling=config.pooling, backend=config.backend)
    except mg.backend.BackendError as exc:  # all of this package's errors are StyleErrors
        raise ConfigError(str(exc)) from None


def make_objective(net: VGG19, content: np.ndarray, styles: Sequence[np.ndarray], config: StyleConfig) -> Objective:
    """The loss of the config's settings, with targets from RGB 0..255 content and style images."""
    return Objective(
        net,
        images.preprocess(content, net.mean_pixel, net.dtype)[None],
        [images.preprocess(s, net.mean_pixel, net.dtype)[None] for s in styles],
        config.blend_weights(len(styles)),
        config.content_weight,
        config.content_weight_blend,
        config.style_weight,
        config.style_layer_weight_exp,
        config.tv_weight,
    )


def stylize(
    network: VGG19 | str | os.PathLike,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    initial: np.ndarray | None = None,
    config: StyleConfig | None = None,
    *,
    stream: TextIO | None = None,
    **settings: Any,
) -> Iterator[tuple[int | None, np.ndarray]]:
    """Yield (iteration, best image so far) at checkpoints and (None, final image) at the end.

    ``network`` is a VGG19 or the path of the .mat; images are (H, W, 3) RGB 0..255 arrays, styles
    already at the size wanted. ``settings`` override fields of ``config`` (a StyleConfig).
    Progress goes to ``stream`` (stderr by default); the config's ``progress_write`` and
    ``progress_plot`` name files for the loss history (see vgg.history). Raises LossNotFiniteError, carrying the best
    finite image, if the loss becomes NaN or infinite.
    """
    config = dataclasses.replace(config or StyleConfig(), **settings)
    config.validate(len(styles))
    net = _network(network, config)
    objective = make_objective(net, content, styles, config)
    x0 = initial_image(content, initial, net.mean_pixel, config, net.dtype)
    image = mg.Tensor(net.xp.asarray(x0), requires_grad=True)

    def finish(x: Any) -> np.ndarray:
        out = images.unprocess(to_numpy(x).reshape(content.shape[:2] + (3,)), net.mean_pixel, net.dtype)
        return images.preserve_colors(out, content) if config.preserve_colors else out

    yield from _optimize(image, objective, config, Reporter(stream, config.progress), finish)


class _Tracker:
    """The best image at checkpoints (the original's rule), the best finite one overall, the loss history."""

    def __init__(self, history: History) -> None:
        self.best, self.best_loss = None, math.inf
        self.finite, self.finite_loss = None, math.inf
        self.history = history

    def read(self, i: int, losses: Losses) -> float:
        """The total loss after iteration i, read back; all four losses, recorded, when a history is kept."""
        values = losses.values() if self.history.enabled else {"total": losses.total.item()}
        self.history.record(i + 1, values)
        return values["total"]

    def seen(self, loss: float, image: mg.Tensor) -> None:
        if loss < self.finite_loss:
            self.finite, self.finite_loss = image.data.copy(), loss

    def checkpoint(self, loss: float, image: mg.Tensor) -> Any:
        if loss < self.best_loss:
            self.best, self.best_loss = image.data.copy(), loss
        return self.best


def _quiet() -> Any:
    """numpy's overflow warnings off: a non-finite loss is reported by the loop itself, in one line."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _step(losses: Losses, adam: mg.optim.Adam) -> None:
    with _quiet():
        losses.total.backward()
        adam.step()
    adam.zero_grad()


# On a GPU, reading the loss back is a host-device synchronisation that stalls the queue of
# kernels; there the loss is checked for NaN/inf (and the best finite image kept) only every
# this many iterations and wherever it is printed or checkpointed anyway. On the CPU: always.
DEVICE_CHECK_EVERY = 10


def _evaluate(
    objective: Objective, image: mg.Tensor, i: int, tracker: _Tracker, finish: Any, check: bool = True
) -> Losses:
    with _quiet():
        losses = objective(image)
    if not check:
        return losses
    total = tracker.read(i, losses)
    if not math.isfinite(total):
        where = "for the initial image" if i < 0 else f"by iteration {i + 1}"  # GPUs check every 10
        image_out = None if tracker.finite is None else finish(tracker.finite)
        raise LossNotFiniteError(f"the loss became {total} {where}", i, image_out, tracker.finite_loss)
    tracker.seen(total, image)
    return losses


def _optimize(
    image: mg.Tensor, objective: Objective, config: StyleConfig, reporter: Reporter, finish: Any
) -> Iterator[tuple[int | None, np.ndarray]]:
    adam = mg.optim.Adam([image], config.learning_rate, config.beta1, config.beta2, config.epsilon)
    history = History(config.progress_write, config.progress_plot)
    tracker, n = _Tracker(history), config.iterations
    on_host = isinstance(image.data, np.ndarray)
    try:
        losses = _evaluate(objective, image, -1, tracker, finish)  # the image before the first step
        for i in range(n):
            last = i == n - 1
            reporter.iteration(i, n)
            if last or config.is_print(i):
                reporter.losses(losses.values())
            _step(losses, adam)
            # the next step's forward pass is also this step's checkpoint evaluation
            if last:
                with mg.no_grad():
                    losses = _evaluate(objective, image, i, tracker, finish)
            else:
                prints_next = config.is_print(i + 1) or i + 1 == n - 1
                check = on_host or (i + 1) % DEVICE_CHECK_EVERY == 0 or prints_next
                losses = _evaluate(objective, image, i, tracker, finish, check or config.is_checkpoint(i))
            reporter.status(i, n)
            if last or config.is_checkpoint(i):
                history.save_plot()
                yield (None if last else i), finish(tracker.checkpoint(losses.total.item(), image))
    except LossNotFiniteError:
        history.save_plot()  # the history up to the bad value, beside the best finite image
        raise
    finally:
        reporter.close()
        history.close()
