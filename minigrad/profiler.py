"""Where the time goes: per-op forward and backward seconds.

    with minigrad.profiler.profile() as prof:
        loss = f(x); loss.backward()
    print(prof.table())

On cupy every timed op is synchronised, which costs a little; use it to look, not to race.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .backend import synchronize


class Profile:
    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)

    @contextlib.contextmanager
    def timed(self, op: str, phase: str, array: Any) -> Iterator[None]:
        start = time.perf_counter()
        yield
        synchronize(array)
        self.seconds[op, phase] += time.perf_counter() - start
        self.calls[op, phase] += 1

    def table(self, top: int = 20) -> str:
        total = sum(self.seconds.values()) or 1.0
        rows = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]
        lines = [f"{'op':<12} {'phase':<8} {'calls':>6} {'seconds':>9} {'share':>6}"]
        for (op, phase), sec in rows:
            lines.append(f"{op:<12} {phase:<8} {self.calls[op, phase]:>6} {sec:>9.4f} {100 * sec / total:>5.1f}%")
        return "\n".join(lines)


_active: Profile | None = None


def active() -> Profile | None:
    return _active


@contextlib.contextmanager
def profile() -> Iterator[Profile]:
    """Record the time of every op's forward and backward inside the block."""
    global _active
    previous, _active = _active, Profile()
    try:
        yield _active
    finally:
        _active = previous
