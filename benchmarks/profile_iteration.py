"""Where one iteration's time goes, per op (forward and backward), with minigrad.profiler.

python -m benchmarks.profile_iteration [--size 512] [--backend numpy] [--iterations 3]

On cupy it also gives the kernel launches per iteration: per op on the CPU stand-in for CuPy
(which counts them), in total on a GPU (a CUDA graph capture of one iteration, benchmarks.launch_count).
"""

from __future__ import annotations

import argparse
import json
import time

import minigrad as mg
from benchmarks import common
from benchmarks.launch_count import counts, stand_in_stats
from benchmarks.workloads import minigrad_step


def _launch_counter(backend: str):
    if backend != "cupy":
        return None
    stats = stand_in_stats(mg.backend.array_module("cupy"))
    return None if stats is None else stats.total_kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    common.reexec_without_blas_overrides()
    if args.backend == "numpy":
        mg.backend.reuse_host_memory()
    step = minigrad_step(args.size, args.backend)
    step()  # warm-up
    counter = _launch_counter(args.backend)
    start = time.perf_counter()
    with mg.profiler.profile(launches=counter) as prof:
        for _ in range(args.iterations):
            step()
    wall = (time.perf_counter() - start) / args.iterations
    inside = sum(prof.seconds.values()) / args.iterations
    print(f"{args.size}x{args.size} on {args.backend}: {wall:.3f} s per iteration, {inside:.3f} s of it inside ops")
    print(prof.table())
    if args.backend == "cupy":
        try:
            print("kernel launches per iteration:", json.dumps(counts(args.size)))
        except Exception as exc:  # a capture refused is a finding, not a crash of the profile
            print(f"kernel launches per iteration: not counted ({type(exc).__name__}: {exc})".splitlines()[0])


if __name__ == "__main__":
    main()
