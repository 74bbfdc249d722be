"""Shared pieces of the benchmark drivers: running workers, machine facts, tables."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def proc_status_kib(field: str) -> int | None:
    """A kB field of /proc/self/status (VmRSS, VmHWM, ...) in KiB; None if absent; OSError without /proc."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def reexec_without_blas_overrides() -> None:
    """Some machines force an older OpenBLAS kernel through these variables, which halves a
    current numpy's GEMM speed; the frameworks we compare with bring their own BLAS. Drop them
    for this benchmark run alone (tests and CI keep them) and say so."""
    if any(v in os.environ for v in BLAS_OVERRIDES) and not os.environ.get("BENCH_KEEP_BLAS_ENV"):
        dropped = ", ".join(f"{v}={os.environ[v]}" for v in BLAS_OVERRIDES if v in os.environ)
        print(f"note: running without {dropped} (set BENCH_KEEP_BLAS_ENV=1 to keep them)", file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if k not in BLAS_OVERRIDES}
        os.execve(sys.executable, [sys.executable, "-m", *module_argv()], env)


def module_argv() -> list[str]:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    name = spec.name if spec is not None else "benchmarks." + os.path.basename(sys.argv[0])[:-3]
    return [name, *sys.argv[1:]]


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def run_worker(
    impl: str, size: int, repeats: int, extra: tuple[str, ...] = (), timeout: float = 1800, env: dict | None = None
) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.worker", "--impl", impl, "--size", str(size), "--repeats", str(repeats)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    proc = subprocess.run([*cmd, *extra], capture_output=True, text=True, env=env, timeout=timeout, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"impl": impl, "size": size, "error": f"exit {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def thread_env(threads: int) -> dict[str, str]:
    """Environment that holds BLAS and OpenMP pools (numpy/scipy's OpenBLAS, PyTorch's) to ``threads``."""
    return {v: str(threads) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def time_step(step, warmup: int, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of step() after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def summarise(result: dict) -> dict:
    times = result.get("times")
    if not times:
        return result
    return {**result, "median": statistics.median(times), "min": min(times), "max": max(times)}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "torch", "tensorflow", "cupy"):
        if available(name):
            try:
                out[name] = __import__(name).__version__
            except Exception as exc:  # a broken install is a fact worth printing, not a crash
                out[name] = f"unimportable ({type(exc).__name__})"
    return out


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    rows = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(
        f"{i['internal_api']} {i.get('version')} {i.get('architecture')} x{i['num_threads']}" for i in rows
    )


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
