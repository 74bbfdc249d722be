"""What the host heap costs a planned run: seconds per iteration, peak and page faults under each malloc setting.

    .venv/bin/python -m benchmarks.heap_check [--hw 1024x1024] [--plan pool2:128] [--iterations 3]

Each setting runs in a fresh process (full-size random VGG-19, content and style of the same size, Adam):
``defaults`` (glibc as a process starts), ``kept`` (minigrad.backend.reuse_host_memory: the plain graph's),
``release`` (minigrad.backend.release_host_memory: large arrays mmap'ed and given back when freed), and each of
those with ``+nohuge`` (numpy's madvise of huge pages off). Printed per setting: the median seconds of the
iterations after the first, the peak RSS, the process's system and user seconds and its minor page faults.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys

from benchmarks import common
from benchmarks.memory_check import iteration_seconds, resolve_plan

SETTINGS = ("defaults", "defaults+nohuge", "kept", "release", "release+nohuge")


def child(setting: str, hw: tuple[int, int], plan_text: str, iterations: int) -> None:
    import numpy as np

    from minigrad import backend

    if setting.startswith("kept"):
        backend.reuse_host_memory()
    elif setting.startswith("release"):
        backend.release_host_memory()
    if setting.endswith("+nohuge"):
        np._core.multiarray._set_madvise_hugepage(False)
    per = iteration_seconds(hw, resolve_plan(plan_text, hw), iterations)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": statistics.median(per), "peak_mb": usage.ru_maxrss / 1024, "sys": usage.ru_stime,
                      "user": usage.ru_utime, "minor_faults": usage.ru_minflt}))  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hw", default="1024x1024", help="WIDTHxHEIGHT")
    p.add_argument("--plan", default="pool2:128", help="SPLIT:ROWS")
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), help=argparse.SUPPRESS)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    width, height = (int(v) for v in args.hw.lower().split("x"))
    if args.child:
        child(args.child, (height, width), args.plan, args.iterations)
        return
    common.reexec_without_blas_overrides()
    print(f"{args.hw}, plan {args.plan}, {args.iterations} iterations")
    for setting in args.settings:
        cmd = [sys.executable, "-m", "benchmarks.heap_check", "--child", setting, "--hw", args.hw, "--plan", args.plan]
        proc = subprocess.run([*cmd, "--iterations", str(args.iterations)], capture_output=True, text=True, check=False)
        lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
        if proc.returncode != 0 or not lines:
            print(f"{setting:15s} failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}", flush=True)
            continue
        r = json.loads(lines[-1])
        print(f"{setting:15s} {r['seconds']:.2f} s / iteration, peak {r['peak_mb']:.0f} MB, system {r['sys']:.1f} s, "
              f"user {r['user']:.1f} s, {r['minor_faults']} minor faults", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
