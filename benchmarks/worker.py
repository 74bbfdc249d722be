"""Time one implementation at one size in this process and print one JSON line.

    python -m benchmarks.worker --impl minigrad --size 256 --repeats 5

Run by benchmarks/bench_cpu.py and bench_gpu.py, one process per (implementation, size), so
that peak memory belongs to that run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from benchmarks import common


def _status_mb(field: str) -> float:
    kib = common.proc_status_kib(field)
    return float("nan") if kib is None else kib / 1024


def _reset_peak_rss() -> bool:
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _build(args):
    from benchmarks import workloads

    if args.impl == "minigrad":
        import minigrad

        if args.backend == "numpy":
            minigrad.backend.reuse_host_memory()  # as the CLI does
            return workloads.minigrad_step(args.size, args.backend)
        if args.tf32:
            minigrad.backend.allow_tf32()  # as the CLI's --tf32 does
        if args.graph:
            from benchmarks.graph_step import graph_step

            return graph_step(args.size)
        return workloads.minigrad_step(args.size, args.backend)
    if args.impl == "torch":
        import torch

        if args.device == "cpu" and args.threads:
            torch.set_num_threads(args.threads)
        if args.device == "cuda":  # FP32 unless asked: cuDNN's convolutions default to TF32
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = bool(args.tf32)
        return workloads.torch_step(args.size, args.device)
    if args.impl == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        return workloads.tf_step(args.size)
    raise SystemExit(f"worker: unknown --impl {args.impl}")


def _install_tracker(args):
    """Our cupy rows (not the graph's: the async pool takes no hook): the peak-tracking allocator."""
    if args.impl != "minigrad" or args.backend != "cupy" or args.graph:
        return None
    import cupy

    from benchmarks.gpu_memory import PeakTracker

    return PeakTracker(cupy)


def _peak_memory(args):
    """Start tracking the peak GPU memory (before the timed iterations); returns a report function."""
    if args.impl == "minigrad" and args.backend == "cupy" and not args.graph:
        tracker = args.tracker
        tracker.reset()
        return tracker.report
    if args.impl == "minigrad" and args.backend == "cupy":
        import cupy

        from benchmarks.gpu_memory import device_used_mb

        return lambda: {"gpu_device_used_mb": device_used_mb(cupy)}  # the async pool takes no hook
    if args.impl == "torch" and args.device == "cuda":
        import torch

        from benchmarks.gpu_memory import torch_peak

        torch.cuda.reset_peak_memory_stats()
        return lambda: torch_peak(torch)
    return dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", required=True, choices=("minigrad", "torch", "tf"))
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--tf32", action="store_true", help="TF32 matrix multiplies (ours and PyTorch's)")
    parser.add_argument("--graph", action="store_true", help="cupy: replay forward+backward as a CUDA graph")
    args = parser.parse_args()

    t0 = time.perf_counter()
    args.tracker = _install_tracker(args)  # before the run's arrays are allocated
    step = _build(args)
    setup = time.perf_counter() - t0
    hwm_reset = _reset_peak_rss()
    base = _status_mb("VmRSS")
    for _ in range(args.warmup):
        step()
    gpu_memory = _peak_memory(args)
    times = common.time_step(step, 0, args.repeats)
    result = {
        "impl": args.impl,
        "size": args.size,
        "backend": args.backend if args.impl == "minigrad" else args.device,
        "times": times,
        "setup_s": setup,
        "rss_base_mb": base,
        "rss_peak_mb": _status_mb("VmHWM"),
        "rss_peak_is_window": hwm_reset,
        "cpu_s": sum(os.times()[:2]),
        "threads": args.threads or None,
        **gpu_memory(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
