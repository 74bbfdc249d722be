"""The loop itself: one optimiser over one image, as a generator of events (no printing, no files).

Numbering, the seed's (docs/REFERENCE.md section 3), the same everywhere (printed, yielded, logged, in file names):
iteration ``i`` (0-based, counted over all stages of a coarse-to-fine run) is one optimiser step.

- ``IterationStarted(i, n, losses)``: before the step of iteration i, printed as `Iteration i+1/n`;
  ``losses`` holds the four losses of the image the step starts from when iteration i prints them.
- ``LossesRead(i, stage, losses, style_layers)``: the losses of the image *after i steps*, i.e. the
  image iteration i starts from (0: the initial image; n: the final one). Emitted wherever the loop
  reads the loss back (vgg.style.schedule: every iteration on the CPU by default, every 10th and
  each printed and checkpointed one on a GPU, where a read-back is a synchronisation).
- ``IterationDone(i, n)``: after the step of iteration i and the evaluation of its result.
- ``Checkpoint(i, image, stage)``: the best image *after iteration i* (lowest loss at the checkpoints,
  the original's rule), RGB 0..255; written as ``pattern % i``; ``state()`` of the run is resumable.
- ``End(image)``: the final image, once, after the last iteration (the seed's ``(None, image)``).

A non-finite loss raises LossNotFiniteError carrying the best finite image read back so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import minigrad as mg

from ..errors import LossNotFiniteError
from .losses import Losses, Objective
from .schedule import Schedule


@dataclass(frozen=True)
class IterationStarted:
    i: int
    n: int
    losses: dict[str, float] | None = None


@dataclass(frozen=True)
class LossesRead:
    i: int
    stage: int
    losses: dict[str, float]
    style_layers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class IterationDone:
    i: int
    n: int


@dataclass(frozen=True)
class Checkpoint:
    i: int
    image: np.ndarray
    stage: int


@dataclass(frozen=True)
class End:
    image: np.ndarray


Event = IterationStarted | LossesRead | IterationDone | Checkpoint | End


class Tracker:
    """The best image at checkpoints (the original's rule) and the best finite one read back."""

    def __init__(self) -> None:
        self.best: Any = None
        self.best_loss = math.inf
        self.finite: Any = None
        self.finite_loss = math.inf

    def seen(self, loss: float, image: mg.Tensor) -> None:
        if loss < self.finite_loss:
            self.finite, self.finite_loss = image.data.copy(), loss

    def checkpoint(self, loss: float, image: mg.Tensor) -> Any:
        if loss < self.best_loss:
            self.best, self.best_loss = image.data.copy(), loss
        return self.best


@dataclass
class Stage:
    """One optimisation: the image Tensor, its objective and optimiser, iterations [start, end)."""

    index: int
    image: mg.Tensor
    objective: Objective
    optimizer: Any
    start: int
    end: int
    finish: Callable[[Any], np.ndarray]  # a raw (1, H, W, 3) array -> RGB 0..255 for output
    tracker: Tracker = field(default_factory=Tracker)


def _quiet() -> Any:
    """numpy's overflow warnings off: a non-finite loss is reported by the loop itself, in one line."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _evaluate(stage: Stage, grad: bool = True) -> Losses:
    with _quiet():
        if grad:
            return stage.objective(stage.image)
        with mg.no_grad():
            return stage.objective(stage.image)


def _read(stage: Stage, losses: Losses, after: int, schedule: Schedule) -> LossesRead:
    """The losses after ``after`` steps, read back; the best finite image kept."""
    values, layers = losses.read(schedule.layers)
    if math.isfinite(values["total"]):
        stage.tracker.seen(values["total"], stage.image)
    return LossesRead(after, stage.index, values, layers)


def _check(stage: Stage, read: LossesRead) -> None:
    """LossNotFiniteError, with the best finite image, after a non-finite loss has been seen by all."""
    total = read.losses["total"]
    if math.isfinite(total):
        return
    tracker = stage.tracker
    where = "for the initial image" if read.i == stage.start == 0 else f"by iteration {read.i}"
    image = None if tracker.finite is None else stage.finish(tracker.finite)
    raise LossNotFiniteError(f"the loss became {total} {where}", read.i - 1, image, tracker.finite_loss)


@dataclass
class _Trial:
    """The last point a line search evaluated: the image there and its losses, their gradient in ``.grad``."""

    x: Any = None
    losses: Losses | None = None


def _closure(stage: Stage, trial: _Trial) -> Callable[[], float]:
    """zero grads, forward, backward, the loss as a float: for optimisers that evaluate more points."""

    def closure() -> float:
        stage.optimizer.zero_grad()
        trial.losses = None  # one trial graph alive at a time
        losses = _evaluate(stage)
        with _quiet():
            losses.total.backward()
        trial.x, trial.losses = stage.image.data.copy(), losses
        return losses.total.item()

    return closure


def _step(stage: Stage, losses: Losses, loss: float | None, differentiated: bool) -> Losses | None:
    """One step from ``losses`` (their gradient already in ``.grad`` if ``differentiated``); the losses after it.

    A line search usually accepts the last point it tried: its losses are the step's result, with their
    gradient, and the loop's own evaluation would repeat that forward and backward pass.
    """
    trial = _Trial()
    searches = getattr(stage.optimizer, "line_search", None) is not None
    with _quiet():
        if not differentiated:
            losses.total.backward()
        if searches and loss is None:
            loss = losses.total.item()  # the search's f(0), which it would otherwise evaluate again
        stage.optimizer.step(_closure(stage, trial), loss)
    if trial.losses is not None and bool(stage.image.xp.array_equal(trial.x, stage.image.data)):
        return trial.losses
    stage.optimizer.zero_grad()
    return None


def drive(stage: Stage, schedule: Schedule) -> Iterator[Event]:
    """The iterations of one stage; the seed's order of evaluations, prints and checkpoints."""
    losses, differentiated = _evaluate(stage), False
    read = _read(stage, losses, stage.start, schedule)  # the image the first step starts from
    yield read
    _check(stage, read)
    for i in range(stage.start, stage.end):
        last = i == stage.end - 1
        yield IterationStarted(i, schedule.n, read.losses if schedule.prints(i) else None)
        reused = _step(stage, losses, read.losses["total"] if read.i == i else None, differentiated)
        # the next step's forward pass is also this step's checkpoint evaluation
        losses, differentiated = (reused, True) if reused is not None else (_evaluate(stage, grad=not last), False)
        if schedule.reads_after(i):
            read = _read(stage, losses, i + 1, schedule)
            yield read
            _check(stage, read)
        yield IterationDone(i, schedule.n)
        if schedule.compares(i):
            best = stage.tracker.checkpoint(read.losses["total"], stage.image)  # a stage's result at its end
            if i == schedule.n - 1:
                yield End(stage.finish(best))
            elif schedule.is_checkpoint(i):
                yield Checkpoint(i, stage.finish(best), stage.index)
