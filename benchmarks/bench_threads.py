"""How the CPU iteration scales with threads: our numpy backend against PyTorch CPU.

    python -m benchmarks.bench_threads [--size 512] [--threads 2 8 16] [--repeats 3] [--markdown out.md]

Each (implementation, thread count) runs in its own worker process with the BLAS and OpenMP pools
held to that many threads (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS; PyTorch also torch.set_num_threads).
Our elementwise work (numpy ufuncs) is single-threaded whatever the count, so its share grows with
the cores: ``benchmarks.profile_iteration`` under the same variables shows where.
"""

from __future__ import annotations

import argparse
import json
import os

from benchmarks import common

HEADER = ["threads", "minigrad numpy s", "PyTorch CPU s", "ours / torch", "ours: speed-up over the fewest threads",
          "torch: speed-up over the fewest threads"]  # fmt: skip


def scaling_rows(results: dict[tuple[str, int], dict], counts: list[int]) -> list[list[str]]:
    def median(impl: str, n: int) -> float | None:
        return results.get((impl, n), {}).get("median")

    rows = []
    for n in counts:
        ours, torch = median("minigrad", n), median("torch", n)
        cells = [str(n), *(f"{v:.3f}" if v else results.get((i, n), {}).get("error", "-") for i, v in
                           (("minigrad", ours), ("torch", torch)))]  # fmt: skip
        cells.append(f"{ours / torch:.2f}" if ours and torch else "-")
        for impl in ("minigrad", "torch"):
            base, now = median(impl, counts[0]), median(impl, n)
            cells.append(f"{base / now:.2f}x" if base and now else "-")
        rows.append(cells)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 8, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown")
    args = parser.parse_args()
    common.reexec_without_blas_overrides()
    impls = [("minigrad", ("--backend", "numpy"))]
    if common.available("torch"):
        impls.append(("torch", ("--device", "cpu")))
    results = {}
    for n in args.threads:
        for impl, flags in impls:
            r = common.run_worker(
                impl, args.size, args.repeats, (*flags, "--threads", str(n)), env=common.thread_env(n)
            )
            results[impl, n] = r = common.summarise(r)
            print(json.dumps({"threads": n, **{k: v for k, v in r.items() if k != "times"}}), flush=True)
    facts = f"- host: {common.cpu_name()}, {os.cpu_count()} cores; {args.size}x{args.size}, median of {args.repeats}"
    text = facts + "\n\n" + common.markdown_table(HEADER, scaling_rows(results, args.threads))
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
