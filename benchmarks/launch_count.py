"""Kernel launches per iteration of the benchmark workload on cupy.

    python -m benchmarks.launch_count [--size 64]                                   # on a GPU
    PYTHONPATH=<cupy-shim> python -m benchmarks.launch_count --size 32              # on the CPU stand-in

On a GPU, one iteration (forward, losses, backward, Adam) is captured as a CUDA graph, never
replayed, and its nodes are counted by kind. The CPU stand-in for CuPy counts every launch it
emulates but cannot run the fused kernels (minigrad/kernels/fused.py): it counts the generic path,
and then the fused path by running each fused call's generic code and counting it as one launch.
The count does not depend on the image size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


def stand_in_stats(xp: Any) -> Any:
    """The CPU stand-in's counters, or None on real CuPy."""
    return getattr(getattr(xp, "_shim_core", None), "STATS", None) if getattr(xp, "__shim__", False) else None


def iteration_body(size: int) -> tuple[Callable[[], None], Any]:
    """(body, image): one iteration without the final synchronisation (which a capture forbids)."""
    from benchmarks.workloads import minigrad_setup

    objective, image, adam = minigrad_setup(size, "cupy")

    def body() -> None:
        adam.zero_grad()
        objective(image).total.backward()
        adam.step()

    return body, image


@contextlib.contextmanager
def fused_as_one_launch(stats: Any) -> Iterator[list[int]]:
    """On the stand-in: dispatch to the fused kernels, run their generic code, count each as one launch.

    Yields a one-item list: the launches to subtract from the stand-in's count.
    """
    from minigrad.kernels import fused, pool, window

    excess, inside = [0], [False]
    generic = {"pad": window.pad_hw, "max_pool": pool.max_pool_forward, "max_pool_grad": pool.max_pool_backward,
               "relu_grad": lambda gy, y: gy * (y > 0)}  # fmt: skip
    saved = {name: getattr(fused, name) for name in (*generic, "enabled")}

    def one_launch(fn: Callable) -> Callable:
        def run(*args: Any) -> Any:
            inside[0], before = True, stats.total_kernels()
            try:
                return fn(*args)
            finally:
                inside[0] = False
                excess[0] += stats.total_kernels() - before - 1

        return run

    fused.enabled = lambda xp: xp is not np and not inside[0]
    for name, fn in generic.items():
        setattr(fused, name, one_launch(fn))
    try:
        yield excess
    finally:
        for name, fn in saved.items():
            setattr(fused, name, fn)


def stand_in_counts(size: int, xp: Any) -> dict[str, int]:
    stats = stand_in_stats(xp)
    body, _ = iteration_body(size)
    body()  # warm-up: Adam's state, the targets

    def count() -> tuple[int, int]:
        launches, gemms = stats.total_kernels(), stats.gemm
        body()
        return stats.total_kernels() - launches, stats.gemm - gemms

    generic, gemms = count()
    with fused_as_one_launch(stats) as excess:
        fused = count()[0] - excess[0]
    return {"generic path": generic, "fused path": fused, "of them GEMMs": gemms}


def gpu_counts(size: int, xp: Any) -> dict[str, int]:
    from minigrad.kernels import cuda_graph

    body, _ = iteration_body(size)
    body()  # warm-up: kernels compiled, Adam's state
    return cuda_graph.count_launches(body, xp)


def counts(size: int) -> dict[str, Any]:
    from minigrad import backend

    xp = backend.array_module("cupy")
    if stand_in_stats(xp) is not None:
        return {"counted on": "the CPU stand-in for CuPy", **stand_in_counts(size, xp)}
    return {"counted on": "a CUDA graph capture of one iteration (nodes by kind)", **gpu_counts(size, xp)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    try:
        result = counts(args.size)
    except Exception as exc:  # no cupy, no device, capture refused: one line
        sys.exit(f"launch_count: {type(exc).__name__}: {exc}".splitlines()[0])
    print(json.dumps({"size": args.size, **result}))


if __name__ == "__main__":
    main()
