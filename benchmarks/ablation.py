"""What each CPU optimisation buys: the iteration with one of them switched off at a time.

    python -m benchmarks.ablation [--sizes 256 512] [--repeats 5]

Each row runs in its own process with one change undone by patching minigrad before the
network is built; the table gives the median seconds per iteration and the slow-down.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from benchmarks import common

VARIANTS = {
    "all on": "",
    "im2col instead of shifted GEMMs": "from minigrad.kernels import conv; conv.SHIFTED_GEMMS = False",
    "taps not chunked": "from minigrad.kernels import conv_taps; conv_taps.CHUNK_ROWS = 10**9",
    "products through numpy's BLAS": ("from minigrad.kernels import blas; blas._blas_ok = lambda *a: False"),
    "no heap reuse (page faults)": "NO_HEAP_REUSE",
}


def child(patch: str, size: int, repeats: int) -> None:
    import minigrad as mg

    if patch != "NO_HEAP_REUSE":
        mg.backend.reuse_host_memory()
        exec(patch)  # noqa: S102 - a fixed string from VARIANTS above
    from benchmarks.workloads import minigrad_step

    print(json.dumps(statistics.median(common.time_step(minigrad_step(size), 1, repeats))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(VARIANTS[args.child], args.sizes[0], args.repeats)
        return
    common.reexec_without_blas_overrides()
    rows = []
    for size in args.sizes:
        base = None
        for name in VARIANTS:
            cmd = [sys.executable, "-m", "benchmarks.ablation", "--child", name, "--sizes", str(size),
                   "--repeats", str(args.repeats)]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()[-1]
            median = float(out)
            base = base or median
            rows.append([str(size), name, f"{median:.3f}", f"{median / base:.2f}x"])
            print(rows[-1], flush=True)
    print(common.markdown_table(["size", "variant", "median s", "vs all on"], rows))


if __name__ == "__main__":
    main()
