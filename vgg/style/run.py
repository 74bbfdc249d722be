"""A run: the seed's losses minimised over the image, stage by stage, as events (vgg.style.loop).

``Run(...)`` checks its settings at once, builds each stage (content and styles at that stage's
width, the objective, the optimiser) and yields the events of vgg.style.loop, whose docstring gives the
numbering of iterations; ``best_image()`` is the best finite image so far at any time, ``state()``
what vgg.files.state saves to resume from the last checkpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

import minigrad as mg
from minigrad.backend import to_numpy

from ..errors import ConfigError, StateError
from ..net.load import load_network
from ..net.model import VGG19
from ..net.tiles import Plan
from . import pixels, plans, scales
from .config import NOISE_STD, StyleConfig, make_config
from .loop import Checkpoint, Event, Stage, Tracker, drive
from .losses import Objective, style_grams
from .planned import PlannedObjective, planned_style_grams
from .schedule import Schedule

# Settings a resumed run may change: they say what is reported, not what is computed
MAY_DIFFER_ON_RESUME = ("seed", "print_iterations", "readback_every", "memory_limit")


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
    start = None if blend == 1 else pixels.preprocess(pixels.resize(base, content.shape[:2]), mean_pixel, dtype)[None]
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
        return load_network(network, pooling=config.pooling, backend=config.backend)
    except mg.backend.BackendError as exc:  # all of this package's errors are StyleErrors
        raise ConfigError(str(exc)) from None


def make_optimizer(params: list[mg.Tensor], config: StyleConfig) -> mg.optim.Optimizer:
    """Adam or L-BFGS over ``params`` with the config's settings (the loop calls only ``step(closure, loss)``,
    ``zero_grad()``, ``state_dict()`` and ``load_state_dict()``)."""
    if config.optimizer == "adam":
        return mg.optim.Adam(params, config.lr(), config.beta1, config.beta2, config.epsilon)
    line_search = None if config.line_search == "none" else config.line_search
    return mg.optim.LBFGS(params, lr=config.lr(), history_size=config.lbfgs_history, line_search=line_search)


# Style targets computed once and shared: {(style index, height, width): its Gram matrices}. Share one only
# between runs of the same network (pooling, backend) and the same list of styles: a batch of contents.
TargetCache = dict[tuple[int, int, int], dict[str, mg.Tensor]]


def make_objective(
    net: VGG19,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    config: StyleConfig,
    target_cache: TargetCache | None = None,
    extra: Mapping[str, Any] | None = None,
    plan: Plan | None = None,
) -> Objective:
    """The loss of the config's settings, with targets from RGB 0..255 content and style images; the style
    targets taken from (and added to) ``target_cache`` when one is given; ``extra``: terms added to the total."""
    targets = []
    for k, style in enumerate(styles):
        key = (k, *style.shape[:2])
        grams = None if target_cache is None else target_cache.get(key)
        if grams is None:
            pre = pixels.preprocess(style, net.mean_pixel, net.dtype)[None]
            grams = style_grams(net, pre) if plan is None else planned_style_grams(net, pre, plan)
            if target_cache is not None:
                target_cache[key] = grams
        targets.append(grams)
    pre = pixels.preprocess(content, net.mean_pixel, net.dtype)[None]
    if plan is None:
        return Objective.from_config(net, pre, [], config, style_targets=targets, extra=extra)
    return PlannedObjective.from_config(net, pre, [], config, style_targets=targets, extra=extra, plan=plan)


def choose_plan(config: StyleConfig, net: VGG19, content: np.ndarray, styles: Sequence[np.ndarray]) -> Plan | None:
    """The plan a scale of these images is evaluated by within config.memory_limit (None: the plain graph)."""
    if config.memory_limit is None:
        return None
    hws = [s.shape[:2] for s in styles]
    return plans.choose(content.shape[:2], hws, config.memory_limit, **estimate_settings(config, net))


def estimate_settings(config: StyleConfig, net: VGG19) -> dict[str, Any]:
    """What the memory estimate (vgg.style.plans.peak_bytes) needs besides the sizes."""
    return {"backend": config.backend, "optimizer": config.optimizer, "history_size": config.lbfgs_history,
            "pooling": config.pooling, "dtype": net.dtype}  # fmt: skip


def check_image(name: str, image: Any) -> np.ndarray:
    """``image`` as an (H, W, 3) float array of RGB 0..255; ConfigError (one line) for anything else: another
    shape, an integer type other than uint8, NaN or infinity."""
    if not isinstance(image, np.ndarray):
        raise ConfigError(f"{name}: expected a numpy array (H, W, 3) of RGB 0..255, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ConfigError(f"{name}: expected shape (H, W, 3), got {image.shape} (use vgg.load_image for files)")
    if image.dtype != np.uint8 and image.dtype.kind != "f":
        raise ConfigError(f"{name}: expected float or uint8 values in 0..255, got dtype {image.dtype}")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ConfigError(f"{name}: holds NaN or infinite pixel values")
    return image


class Run:
    """One run of the loop; iterate over ``events()`` once. See the module docstring."""

    def __init__(
        self,
        network: VGG19 | str | os.PathLike,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        initial: np.ndarray | None = None,
        config: StyleConfig | None = None,
        *,
        resume: Mapping[str, np.ndarray] | None = None,
        style_layers: bool = False,
        target_cache: TargetCache | None = None,
        extra: Mapping[str, Any] | None = None,
        plan: Plan | None = None,
        **settings: Any,
    ) -> None:
        self.target_cache, self.extra, self.forced_plan = target_cache, extra, plan
        self.plans: dict[int, Plan | None] = {}  # the plan each scale was evaluated by, once it started
        self.config = make_config(config, settings)
        self.config.validate(len(styles))
        content, styles = check_image("content", content), [check_image(f"style {k}", s) for k, s in enumerate(styles)]
        initial = None if initial is None else check_image("initial", initial)
        self.net = _network(network, self.config)
        self.content, self.styles, self.initial = content, styles, initial
        c = self.config
        self.schedule = Schedule.of(
            c.stage_iterations(), c.print_iterations, c.checkpoint_iterations, c.readback(), style_layers
        )
        self.bounds = self.schedule.bounds
        if resume is not None:
            self._check_resume(resume)
        self.resume = resume
        self.stage: Stage | None = None
        self.checkpointed: int | None = None  # the iteration of the last Checkpoint event
        self.previous_result: np.ndarray | None = None  # the last finished scale's result (RGB)

    def full_size_plan(self) -> Plan | None:
        """The plan the last (full-size) scale will be evaluated by (None: the plain graph)."""
        return self._full_size()[2]

    def keeps_heap(self) -> bool:
        """Whether the run may keep its host heap for reuse within config.memory_limit (vgg.style.plans.keeps_heap):
        the plain graph always, a plan when the budget has room for its estimate in a kept heap."""
        content, styles, plan = self._full_size()
        hws, settings = [s.shape[:2] for s in styles], estimate_settings(self.config, self.net)
        return plans.keeps_heap(content.shape[:2], hws, plan, self.config.memory_limit, **settings)

    def _full_size(self) -> tuple[np.ndarray, list[np.ndarray], Plan | None]:
        """The last (full-size) scale's content and styles, and the plan it will be evaluated by."""
        content, styles = scales.stage_images(self.config, len(self.bounds) - 1, self.content, self.styles)
        return content, styles, self.forced_plan or choose_plan(self.config, self.net, content, styles)

    def _stage(self, index: int, x0: np.ndarray, start: int | None = None) -> Stage:
        content, styles = scales.stage_images(self.config, index, self.content, self.styles)
        plan = self.forced_plan or choose_plan(self.config, self.net, content, styles)
        self.plans[index] = plan
        objective = make_objective(self.net, content, styles, self.config, self.target_cache, self.extra, plan)
        image = mg.Tensor(self.net.xp.asarray(x0), requires_grad=True)
        first, end = self.bounds[index]

        def finish(raw: Any) -> np.ndarray:
            out = pixels.unprocess(to_numpy(raw).reshape(content.shape[:2] + (3,)), self.net.mean_pixel, self.net.dtype)
            return pixels.preserve_colors(out, content) if self.config.preserve_colors else out

        optimizer = make_optimizer([image], self.config)
        return Stage(index, image, objective, optimizer, first if start is None else start, end, finish)

    def _start(self, index: int, previous: Any) -> Stage:
        """Stage ``index`` from the previous stage's raw result, or (stage 0) from the initial image."""
        content, _ = scales.stage_images(self.config, index, self.content, self.styles[:0])
        if previous is None:
            x0 = initial_image(content, self.initial, self.net.mean_pixel, self.config, self.net.dtype)
        else:
            x0 = scales.upsample(to_numpy(previous), content.shape[:2])
        return self._stage(index, x0)

    def events(self) -> Iterator[Event]:
        """Every event of the run, in order (vgg.style.loop)."""
        first, previous = 0, None
        if self.resume is not None:
            self.stage, first = self._resumed(self.resume), int(self.resume["stage"])
        for index in range(first, len(self.bounds)):
            if self.stage is None or self.stage.index != index:
                self.stage = None  # the last scale's targets and optimiser state go before the next is built
                self.stage = self._start(index, previous)
            for event in drive(self.stage, self.schedule):
                if isinstance(event, Checkpoint):
                    self.checkpointed = event.i
                yield event
            previous = self.stage.tracker.best
            self.previous_result = self.stage.finish(previous)

    def best_image(self) -> np.ndarray | None:
        """The best finite image read back so far (RGB 0..255 floats), or None before the first read.

        Until a coarse-to-fine scale has read its first loss, that is the previous scale's result."""
        stage = self.stage
        if stage is None or stage.tracker.finite is None:
            return self.previous_result
        return stage.finish(stage.tracker.finite)

    def state(self) -> dict[str, np.ndarray]:
        """Everything needed to go on after the last Checkpoint event, as numpy arrays (no objects)."""
        if self.checkpointed is None:
            raise StateError("no checkpoint yet: state() is what resumes from the last Checkpoint event")
        stage, tracker = self.stage, self.stage.tracker
        state = {
            "iteration": np.array(self.checkpointed),
            "stage": np.array(stage.index),
            "image": to_numpy(stage.image.data).copy(),
            "best_loss": np.array(tracker.best_loss),
            "finite_loss": np.array(tracker.finite_loss),
            "settings": np.array(self.config.to_json()),
        }
        for name, raw in (("best", tracker.best), ("finite", tracker.finite)):
            if raw is not None:
                state[name] = to_numpy(raw).copy()
        state.update({f"optimizer/{k}": np.asarray(v) for k, v in stage.optimizer.state_dict().items()})
        return state

    def _check_resume(self, state: Mapping[str, np.ndarray]) -> None:
        """ConfigError unless the state was saved by a run of these settings (only what is reported may differ);
        StateError, naming the field, unless it is a state of one of this run's checkpoints."""
        missing = [key for key in ("settings", "iteration", "stage", "image") if key not in state]
        if missing:
            raise StateError(f"no field {missing[0]} (not a state of Run.state())")
        try:
            saved = json.loads(str(state["settings"]))
            iteration, stage = int(state["iteration"]), int(state["stage"])
        except (ValueError, TypeError):
            raise StateError("field settings, iteration or stage is not what Run.state() writes") from None
        ours = json.loads(self.config.to_json())
        for name, value in ours.items():
            if name not in MAY_DIFFER_ON_RESUME and saved.get(name) != value:
                raise ConfigError(f"resume: the state was saved with {name}={saved.get(name)!r}, not {value!r}")
        if not self.schedule.is_checkpoint(iteration):
            raise StateError(
                f"field iteration is {iteration}, which is no checkpoint of this run of {self.schedule.n} iterations "
                f"(checkpoints every {self.config.checkpoint_iterations}; the last goes to the output)"
            )
        if stage != self.schedule.stage_of(iteration):
            raise StateError(
                f"field stage is {stage}, but iteration {iteration} is in stage {self.schedule.stage_of(iteration)}"
            )
        content, _ = scales.stage_images(self.config, stage, self.content, self.styles[:0])
        shape, expected = tuple(np.shape(state["image"])), (1, *content.shape[:2], 3)
        if shape != expected:
            raise StateError(
                f"field image has shape {shape}, the content at its scale {expected} (resumed with another content?)"
            )
        self._check_resume_arrays(state, shape)

    def _check_resume_arrays(self, state: Mapping[str, np.ndarray], shape: tuple[int, ...]) -> None:
        """The best images and the optimiser's state: their shapes, dtypes and values, before anything is built."""
        for key in ("best", "finite"):
            if key in state and tuple(np.shape(state[key])) != shape:
                raise StateError(f"field {key} has shape {tuple(np.shape(state[key]))}, the image {shape}")
        placeholder = mg.Tensor(np.empty(shape, self.net.dtype), requires_grad=True)  # pages untouched: no memory
        prefix = "optimizer/"
        try:
            make_optimizer([placeholder], self.config).check_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )
        except ValueError as exc:
            raise StateError(f"field {prefix}*: {exc}") from None

    def _resumed(self, state: Mapping[str, np.ndarray]) -> Stage:
        stage = self._stage(int(state["stage"]), np.asarray(state["image"]), int(state["iteration"]) + 1)
        prefix = "optimizer/"
        stage.optimizer.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
        tracker, xp = Tracker(), self.net.xp
        tracker.best_loss, tracker.finite_loss = float(state["best_loss"]), float(state["finite_loss"])
        tracker.best = xp.asarray(state["best"]) if "best" in state else None
        tracker.finite = xp.asarray(state["finite"]) if "finite" in state else None
        stage.tracker = tracker
        return stage
