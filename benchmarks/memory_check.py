"""vgg.style.memory's estimate against measured peaks: each size in a fresh process, peak RSS (VmHWM).

    .venv/bin/python -m benchmarks.memory_check [--sizes 256 512 1024] [--iterations 3] [--optimizer lbfgs]

Each child builds the full-size random VGG-19 (vgg.random_vgg19), a square content and a style of the
same size, runs a few iterations of vgg.stylize() on numpy and reports its peak resident set size;
the parent prints it beside vgg.style.memory.estimate_peak_bytes and the relative error.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

from benchmarks import common


def _peak_rss() -> int:
    try:
        kib = common.proc_status_kib("VmHWM")
    except OSError:
        kib = None
    if kib is not None:
        return kib * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def child(size: int, iterations: int, optimizer: str) -> None:
    import numpy as np

    from minigrad import backend
    from vgg import random_vgg19, stylize

    backend.reuse_host_memory()  # as the CLI does
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    net = random_vgg19(seed=0)
    settings = {} if optimizer == "adam" else {"optimizer": optimizer}  # the default, or L-BFGS (optim-v1)
    for _ in stylize(net, content, [style], iterations=iterations, progress="never", seed=0, **settings):
        pass
    print(json.dumps({"size": size, "peak": _peak_rss()}))


def measure(size: int, iterations: int, optimizer: str) -> int:
    cmd = [sys.executable, "-m", "benchmarks.memory_check", "--child", str(size), "--iterations", str(iterations)]
    cmd += ["--optimizer", optimizer]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.iterations, args.optimizer)
        return
    from vgg.style.memory import estimate_peak_bytes

    print("| image | measured peak RSS | estimate | error |")
    print("|---|---|---|---|")
    for size in args.sizes:
        peak = measure(size, args.iterations, args.optimizer)
        estimate = estimate_peak_bytes((size, size), [(size, size)], optimizer=args.optimizer)
        error = (estimate - peak) / peak
        print(f"| {size}x{size} | {peak / 2**20:.0f} MB | {estimate / 2**20:.0f} MB | {error:+.1%} |", flush=True)


if __name__ == "__main__":
    main()
