"""Where the time goes: per-op forward and backward seconds.

    with minigrad.profiler.profile() as prof:
        loss = f(x); loss.backward()
    print(prof.table())

On cupy every timed op is synchronised, which costs a little; use it to look, not to race.
``profile(launches=f)`` also counts kernel launches per op, f() being a running total of launches
issued so far (the CPU stand-in for CuPy keeps one; real CuPy does not: there, count a whole
iteration with minigrad.kernels.cuda_graph.count_launches).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from .backend import synchronize


class Profile:
    def __init__(self, launches: Callable[[], int] | None = None) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.launches: dict[tuple[str, str], int] | None = None if launches is None else defaultdict(int)
        self._count = launches

    @contextlib.contextmanager
    def timed(self, op: str, phase: str, array: Any) -> Iterator[None]:
        issued = self._count() if self._count else 0
        start = time.perf_counter()
        yield
        synchronize(array)
        self.seconds[op, phase] += time.perf_counter() - start
        self.calls[op, phase] += 1
        if self._count:
            self.launches[op, phase] += self._count() - issued

    def table(self, top: int = 20) -> str:
        total = sum(self.seconds.values()) or 1.0
        rows = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]
        counted = self.launches is not None
        lines = [f"{'op':<12} {'phase':<8} {'calls':>6} {'seconds':>9} {'share':>6}" + (" launches" if counted else "")]
        for (op, phase), sec in rows:
            line = f"{op:<12} {phase:<8} {self.calls[op, phase]:>6} {sec:>9.4f} {100 * sec / total:>5.1f}%"
            lines.append(line + (f" {self.launches[op, phase]:>8}" if counted else ""))
        return "\n".join(lines)


_active: Profile | None = None


def active() -> Profile | None:
    return _active


@contextlib.contextmanager
def profile(launches: Callable[[], int] | None = None) -> Iterator[Profile]:
    """Record the time (and, given a launch counter, the kernel launches) of every op's forward and backward."""
    global _active
    previous, _active = _active, Profile(launches)
    try:
        yield _active
    finally:
        _active = previous
