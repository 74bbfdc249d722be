"""CPU vs GPU benchmark: one style-transfer iteration on numpy, on cupy, and in PyTorch CUDA.

    python -m benchmarks.bench_gpu [--sizes 256 512 1024 2048] [--repeats 5] [--tf32] [--graph] [--markdown out.md]
                                   [--cpu-max-size 512] [--graph-sizes 256 512] [--skip-cpu]

Needs cupy and a CUDA device. Like is compared with like: our FP32 rows with PyTorch's FP32
(cuDNN's and cuBLAS's TF32 switched off: PyTorch allows TF32 in cuDNN convolutions by default),
our --tf32 rows with PyTorch's TF32. --graph adds rows with forward and backward replayed as one
CUDA graph (opt-in, benchmarks/graph_step.py; --graph-sizes: at those sizes only). Memory is the
peak in use during the timed iterations: our pool's bytes in use through a peak-tracking allocator hook, against
torch.cuda.max_memory_allocated (graph rows: device memory in use, the async pool takes no hook).
GPU times are taken after a synchronisation at the end of each iteration. Sizes that fail or run
out of memory are reported as such, not hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess

from benchmarks import common
from benchmarks.workloads import flops

HEADER = ["size", "run", "precision", "median s", "min s", "max s", "speed-up vs numpy",
          "ours / torch (same precision)", "GFLOP/s", "peak GPU MB in use"]  # fmt: skip


def runs(args, size: int) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(name, impl, precision, worker flags) for every row of one size."""
    cpu = not args.skip_cpu and size <= args.cpu_max_size
    out = [("numpy", "minigrad", "fp32", ("--backend", "numpy"))] if cpu else []
    graph = args.graph or size in args.graph_sizes
    torch = common.available("torch")
    for precision in ("fp32", "tf32") if args.tf32 else ("fp32",):
        flag = ("--tf32",) if precision == "tf32" else ()
        suffix = "" if precision == "fp32" else " tf32"
        out.append(("cupy" + suffix, "minigrad", precision, ("--backend", "cupy", *flag)))
        if graph:
            out.append(("cupy graph" + suffix, "minigrad", precision, ("--backend", "cupy", "--graph", *flag)))
        if torch:
            out.append(("torch cuda" + suffix, "torch", precision, ("--device", "cuda", *flag)))
    return out


def memory(r: dict) -> str:
    if "gpu_peak_mb" in r:
        pool = f" (pool holds {r['gpu_pool_total_mb']:.0f})" if "gpu_pool_total_mb" in r else ""
        return f"{r['gpu_peak_mb']:.0f}{pool}"
    if "gpu_device_used_mb" in r:
        return f"device {r['gpu_device_used_mb']:.0f}"
    return f"(host RSS peak {r.get('rss_peak_mb', 0):.0f})"


def row(size: int, name: str, precision: str, r: dict, results: dict) -> list[str]:
    if "median" not in r:
        return [str(size), name, precision, r.get("error", "?")] + [""] * 6
    cpu = results.get((size, "numpy"), {})
    peer = results.get((size, "torch cuda" + ("" if precision == "fp32" else " tf32")), {})
    speedup = f"{cpu['median'] / r['median']:.1f}x" if "median" in cpu else "-"
    vs_torch = f"{r['median'] / peer['median']:.2f}" if "median" in peer and name.startswith("cupy") else "-"
    return [str(size), name, precision, f"{r['median']:.4f}", f"{r['min']:.4f}", f"{r['max']:.4f}", speedup,
            vs_torch, f"{flops(size) / r['median'] / 1e9:.0f}", memory(r)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tf32", action="store_true", help="also time TF32 rows, ours and PyTorch's")
    parser.add_argument("--graph", action="store_true", help="also time our iteration replayed as a CUDA graph")
    parser.add_argument("--graph-sizes", type=int, nargs="*", default=[], help="... at these sizes only")
    parser.add_argument("--skip-cpu", action="store_true", help="leave out the numpy rows (slow at 2048)")
    parser.add_argument("--cpu-max-size", type=int, default=10**9, help="numpy rows only up to this size")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    common.reexec_without_blas_overrides()

    results: dict[tuple[int, str], dict] = {}
    rows = []
    for size in args.sizes:
        for name, impl, precision, flags in runs(args, size):
            r = common.summarise(common.run_worker(impl, size, args.repeats, flags))
            results[size, name] = r
            rows.append((size, name, precision, r))
            print(json.dumps({"run": name, **{k: v for k, v in r.items() if k != "times"}}), flush=True)
        report(rows, results, args.markdown)  # after every size: a run cut short keeps what it measured
    print(report(rows, results, None))


def report(rows: list, results: dict, path: str | None) -> str:
    facts = [f"host: {common.cpu_name()}, {os.cpu_count()} cores", gpu_name(),
             "versions: " + ", ".join(f"{k} {v}" for k, v in common.versions().items())]  # fmt: skip
    table = [row(size, name, precision, r, results) for size, name, precision, r in rows]
    text = "\n".join(f"- {f}" for f in facts) + "\n\n" + common.markdown_table(HEADER, table)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    return text


def gpu_name() -> str:
    """From nvidia-smi, so that this process holds no CUDA context (and no device memory) of its own."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout.strip()  # fmt: skip
        return f"GPU: {out.splitlines()[0]} (name, memory, driver)"
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        return f"GPU: not found by nvidia-smi ({type(exc).__name__})"


if __name__ == "__main__":
    main()
