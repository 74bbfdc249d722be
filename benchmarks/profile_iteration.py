"""Where one iteration's time goes, per op (forward and backward), with minigrad.profiler.

python -m benchmarks.profile_iteration [--size 512] [--backend numpy] [--iterations 3]
"""

from __future__ import annotations

import argparse
import time

import minigrad as mg
from benchmarks import common
from benchmarks.workloads import minigrad_step


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
    start = time.perf_counter()
    with mg.profiler.profile() as prof:
        for _ in range(args.iterations):
            step()
    wall = (time.perf_counter() - start) / args.iterations
    inside = sum(prof.seconds.values()) / args.iterations
    print(f"{args.size}x{args.size} on {args.backend}: {wall:.3f} s per iteration, {inside:.3f} s of it inside ops")
    print(prof.table())


if __name__ == "__main__":
    main()
