"""CPU vs GPU benchmark: one style-transfer iteration on numpy, on cupy, and in PyTorch CUDA.

    python -m benchmarks.bench_gpu [--sizes 256 512 1024 2048] [--repeats 5] [--markdown out.md]

Needs cupy and a CUDA device. GPU times are taken after a stream synchronisation at the end of
each iteration. Opt-in modes are reported as separate rows: --tf32 runs cupy with CUPY_TF32=1
(TF32 tensor-core matmuls). Sizes that run out of memory are reported as such, not hidden.
"""

from __future__ import annotations

import argparse
import json
import os

from benchmarks import common
from benchmarks.workloads import flops

HEADER = ["size", "run", "median s", "min s", "max s", "speed-up vs numpy", "ours/torch", "GFLOP/s",
          "GPU memory MB (pool used / total, or torch peak)"]  # fmt: skip


def runs(args) -> list[tuple[str, str, tuple[str, ...], dict]]:
    out = [("numpy", "minigrad", ("--backend", "numpy"), {})] if not args.skip_cpu else []
    out.append(("cupy", "minigrad", ("--backend", "cupy"), {}))
    if args.tf32:
        out.append(("cupy tf32", "minigrad", ("--backend", "cupy"), {"CUPY_TF32": "1"}))
    if common.available("torch"):
        out.append(("torch cuda", "torch", ("--device", "cuda"), {}))
    return out


def memory(r: dict) -> str:
    if "gpu_pool_used_mb" in r:
        return f"{r['gpu_pool_used_mb']:.0f} / {r['gpu_pool_total_mb']:.0f}"
    if "gpu_peak_allocated_mb" in r:
        return f"{r['gpu_peak_allocated_mb']:.0f}"
    return f"(host RSS peak {r.get('rss_peak_mb', 0):.0f})"


def table(results: dict[tuple[int, str], dict]) -> list[list[str]]:
    rows = []
    for (size, name), r in results.items():
        if "median" not in r:
            rows.append([str(size), name, r.get("error", "?")] + [""] * 6)
            continue
        cpu = results.get((size, "numpy"), {})
        torch = results.get((size, "torch cuda"), {})
        speedup = f"{cpu['median'] / r['median']:.1f}x" if "median" in cpu else "-"
        vs_torch = f"{r['median'] / torch['median']:.2f}" if "median" in torch and name.startswith("cupy") else "-"
        rows.append([str(size), name, f"{r['median']:.4f}", f"{r['min']:.4f}", f"{r['max']:.4f}", speedup, vs_torch,
                     f"{flops(size) / r['median'] / 1e9:.0f}", memory(r)])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tf32", action="store_true", help="also time cupy with TF32 matmuls (opt-in mode)")
    parser.add_argument("--skip-cpu", action="store_true", help="leave out the numpy rows (slow at 2048)")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    common.reexec_without_blas_overrides()

    results: dict[tuple[int, str], dict] = {}
    for size in args.sizes:
        for name, impl, extra, env in runs(args):
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                r = common.summarise(common.run_worker(impl, size, args.repeats, extra))
            finally:
                for k, v in saved.items():
                    os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
            results[size, name] = r
            print(json.dumps({"run": name, **{k: v for k, v in r.items() if k != "times"}}), flush=True)
    facts = [f"host: {common.cpu_name()}, {os.cpu_count()} cores", _gpu_name(),
             "versions: " + ", ".join(f"{k} {v}" for k, v in common.versions().items())]  # fmt: skip
    text = "\n".join(f"- {f}" for f in facts) + "\n\n" + common.markdown_table(HEADER, table(results))
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


def _gpu_name() -> str:
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return f"GPU: {name}, {props['totalGlobalMem'] / 2**30:.0f} GiB"
    except Exception as exc:  # no cupy or no device: say so in the table's header
        return f"GPU: unavailable ({type(exc).__name__}: {exc})"


if __name__ == "__main__":
    main()
