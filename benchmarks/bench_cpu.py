"""CPU benchmark: one style-transfer iteration in minigrad (numpy) vs PyTorch and TensorFlow.

    python -m benchmarks.bench_cpu [--sizes 256 512 1024] [--repeats 5] [--markdown out.md]

Each (implementation, size) runs in its own process: median/min/max seconds over the repeats
after one warm-up, peak resident memory during the iterations, achieved GFLOP/s and the share
of this machine's float32 GEMM peak (numpy matmul, measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from benchmarks import common
from benchmarks.workloads import flops


def gemm_peak(seconds: float = 2.0) -> float:
    """Best GFLOP/s of a conv-shaped float32 numpy matmul (4096 x 2304 @ 2304 x 256)."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((4096, 2304), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((2304, 256), dtype=np.float32)
    best, end = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * 4096 * 2304 * 256 / best / 1e9


def rows_for(results: list[dict], peak: float) -> list[list[str]]:
    rows = []
    for r in results:
        if "error" in r:
            rows.append([str(r["size"]), r["impl"], r["error"]] + [""] * 7)
            continue
        ours = next((o for o in results if o["impl"] == "minigrad" and o["size"] == r["size"] and "median" in o), None)
        ratio = f"{ours['median'] / r['median']:.2f}" if ours and r["impl"] != "minigrad" else "-"
        gflops = flops(r["size"]) / r["median"] / 1e9
        rows.append([
            str(r["size"]), r["impl"], f"{r['median']:.3f}", f"{r['min']:.3f}", f"{r['max']:.3f}", ratio,
            f"{gflops:.0f}", f"{100 * gflops / peak:.0f}%", f"{r['rss_peak_mb'] - r['rss_base_mb']:.0f}",
            f"{r['rss_peak_mb']:.0f}",
        ])  # fmt: skip
    return rows


HEADER = ["size", "impl", "median s", "min s", "max s", "ours/peer", "GFLOP/s", "of GEMM peak",
          "iter. memory MB", "process peak MB"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--impls", nargs="+", default=["minigrad", "torch", "tf"])
    parser.add_argument("--markdown", help="also write the table and facts to this file")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args()
    common.reexec_without_blas_overrides()

    impls = [i for i in args.impls if i == "minigrad" or common.available({"tf": "tensorflow"}.get(i, i))]
    peak = gemm_peak()
    load_before = os.getloadavg()[0]
    results = []
    for size in args.sizes:
        for impl in impls:
            r = common.summarise(common.run_worker(impl, size, args.repeats))
            results.append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "times"}), flush=True)
    facts = [
        f"machine: {common.cpu_name()}, {os.cpu_count()} cores",
        f"BLAS (numpy): {common.blas_info()}",
        f"float32 GEMM peak (numpy matmul 4096x2304 @ 2304x256): {peak:.0f} GFLOP/s",
        "versions: " + ", ".join(f"{k} {v}" for k, v in common.versions().items()),
        f"load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}",
        f"repeats: {args.repeats} after 1 warm-up; 'iter. memory' = peak RSS during the iterations minus RSS before",
    ]
    table = common.markdown_table(HEADER, rows_for(results, peak))
    print("\n".join(facts) + "\n\n" + table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(f"- {x}" for x in facts) + "\n\n" + table + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
