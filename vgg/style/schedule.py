"""The one rule for when iteration i prints, compares, checkpoints and reads the loss back.

Numbering, the seed's (docs/REFERENCE.md section 3), the same everywhere (printed, yielded, logged, in file
names): iteration ``i`` is 0-based, counted over all stages of a coarse-to-fine run, and is one optimiser step.

- ``prints(i)``: the losses of the image iteration i starts from are printed under `Iteration i+1/n`: every
  ``print_every``-th iteration and the last of each stage.
- ``compares(i)``: after iteration i the image is compared with the best so far (the original's rule: only
  at checkpoints): every ``checkpoint_every``-th iteration and the last of each stage.
- ``is_checkpoint(i)``: after iteration i a checkpoint image (and state) is written, with checkpoints on:
  every ``checkpoint_every``-th iteration and the end of each stage but the last; the last iteration of the
  run goes to the output, never to a checkpoint.
- ``reads_after(i)``: the losses after iteration i's step are read back (on a GPU a synchronisation):
  every ``readback_every``-th, and wherever they are printed or compared anyway.

Everything that needs to know which files a run writes (the checks before a run, the dry run) asks this.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """``bounds``: [start, end) of each stage's iterations; ``n`` iterations in all."""

    bounds: tuple[tuple[int, int], ...]
    print_every: int | None = None
    checkpoint_every: int | None = None
    readback_every: int = 1
    layers: bool = False  # read the style loss of each layer too (for a run log)

    @classmethod
    def of(cls, stage_iterations: Sequence[int], print_every: int | None = None,
           checkpoint_every: int | None = None, readback_every: int = 1, layers: bool = False) -> Schedule:  # fmt: skip
        """The schedule of stages of these lengths."""
        bounds, start = [], 0
        for count in stage_iterations:
            bounds.append((start, start + int(count)))
            start += int(count)
        return cls(tuple(bounds), print_every, checkpoint_every, readback_every, layers)

    @property
    def n(self) -> int:
        return self.bounds[-1][1]

    def stage_of(self, i: int) -> int:
        return next(k for k, (start, end) in enumerate(self.bounds) if start <= i < end)

    def ends_stage(self, i: int) -> bool:
        """Whether i is the last iteration of its stage."""
        return any(i == end - 1 for _, end in self.bounds)

    def prints(self, i: int) -> bool:
        return self.ends_stage(i) or bool(self.print_every) and i % self.print_every == 0

    def compares(self, i: int) -> bool:
        return self.ends_stage(i) or bool(self.checkpoint_every) and i % self.checkpoint_every == 0

    def is_checkpoint(self, i: int) -> bool:
        return bool(self.checkpoint_every) and 0 <= i < self.n - 1 and self.compares(i)

    def checkpoints(self, after: int = -1) -> Iterator[int]:
        """Every checkpoint iteration later than ``after``, in order (the stage ends and every k-th)."""
        every = self.checkpoint_every
        if not every:
            return
        ends = sorted(end - 1 for _, end in self.bounds[:-1] if end - 1 > after)
        start = max(0, after + 1)
        multiples = range(-(-start // every) * every, self.n - 1, every)  # lazy: never a list of them all
        last = None
        for i in heapq.merge(multiples, ends):
            if i != last:
                yield i
            last = i

    def reads_after(self, i: int) -> bool:
        return (i + 1) % self.readback_every == 0 or self.prints(i + 1) or self.compares(i)
