"""Peak memory and seconds per iteration of the plain graph and of plans, against the estimate and PyTorch.

    .venv/bin/python -m benchmarks.memory_check [--hw 256x256 512x512 1024x1024] [--plans plain]
        [--iterations 3] [--optimizer adam|lbfgs] [--torch]

Each (size, plan) runs in a fresh process: the full-size random VGG-19 (vgg.random_vgg19), a content and a
style of the same size (the seed scales the style to the content's width), a few iterations of vgg.Run on
numpy, its heap kept or left at glibc's defaults as the CLI would (vgg.style.plans.keeps_heap, within the budget
below). It reports its peak resident set size (VmHWM, the whole process) and the median seconds of the
iterations after the first. A plan is ``plain``, ``auto`` (what the CLI would choose: vgg.style.plans.choose
within this machine's available memory), ``limit=SIZE`` (chosen within SIZE bytes, e.g. limit=8e9),
``SPLIT:ROWS`` (e.g. pool3:128; the budget: this machine's available memory) or ``SPLIT:ROWS@SIZE`` (that plan
within SIZE bytes: whether it keeps its heap). The parent prints each beside vgg.style.plans.peak_bytes for the
heap it ran in and the relative error; ``--torch`` adds PyTorch's process peak for the square sizes
(benchmarks.worker's port, same work).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks import common


def parse_hw(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return height, width


def resolve_plan(text: str, hw: tuple[int, int]):
    """The vgg.net.tiles.Plan (or None) a --plans word names for an image of ``hw``."""
    from vgg.net.tiles import Plan
    from vgg.style import plans

    if text == "plain":
        return None
    if text == "auto" or text.startswith("limit="):
        return plans.choose(hw, [hw], budget_of(text))
    split, rows = text.split("@", maxsplit=1)[0].split(":")
    return Plan(split, int(rows))


def budget_of(text: str) -> int | None:
    """The memory budget a --plans word runs under: its limit= or @, else what this machine has (as the CLI's)."""
    from vgg.style import memory

    if text.startswith("limit="):
        return int(float(text.split("=", 1)[1]))
    return int(float(text.split("@", 1)[1])) if "@" in text else memory.available_bytes("numpy")


def iteration_seconds(hw: tuple[int, int], plan: Any, iterations: int, **settings: Any) -> list[float]:
    """Run vgg.Run on the full-size random VGG-19 with a random content and style of ``hw``, evaluated by ``plan``;
    the seconds of each iteration after the first."""
    import numpy as np

    from vgg import Run, random_vgg19

    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (*hw, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (*hw, 3)).astype(np.float32)
    run = Run(random_vgg19(seed=0), content, [style], iterations=iterations, seed=0, plan=plan, **settings)
    stamps = [time.perf_counter() for event in run.events() if type(event).__name__ == "IterationDone"]
    return [b - a for a, b in zip(stamps, stamps[1:])]


def child(hw: tuple[int, int], plan_text: str, iterations: int, optimizer: str) -> None:
    from minigrad import backend
    from vgg.style import plans

    plan = resolve_plan(plan_text, hw)
    # as the CLI does (vgg.cli.session): a kept heap where the budget has room for it, else glibc's defaults
    kept = plans.keeps_heap(hw, [hw], plan, budget_of(plan_text))
    if kept:
        backend.reuse_host_memory()
    else:
        backend.release_host_memory()
    per = iteration_seconds(hw, plan, iterations, **({} if optimizer == "adam" else {"optimizer": optimizer}))
    peak = common.proc_status_kib("VmHWM") * 1024
    seconds = statistics.median(per) if per else None
    print(json.dumps({"peak": peak, "seconds": seconds, "plan": str(plan), "heap": "kept" if kept else "glibc"}))


def measure(hw: tuple[int, int], plan: str, iterations: int, optimizer: str) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.memory_check", "--child", f"{hw[1]}x{hw[0]}", "--plans", plan]
    cmd += ["--iterations", str(iterations), "--optimizer", optimizer]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}"}
    return json.loads(lines[-1])


def _torch_peak(size: int) -> str:
    result = common.run_worker("torch", size, 2, ("--threads", "2"))
    return "error" if "error" in result else f"{result['rss_peak_mb']:.0f} MB"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hw", nargs="+", default=["256x256", "512x512", "1024x1024"], help="WIDTHxHEIGHT")
    p.add_argument("--plans", nargs="+", default=["plain"])
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--torch", action="store_true", help="PyTorch's peak too, for square sizes")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(parse_hw(args.child), args.plans[0], args.iterations, args.optimizer)
        return
    common.reexec_without_blas_overrides()
    from vgg.style import plans

    print("| image | plan | measured peak RSS | estimate | error | s / iteration | PyTorch peak |")
    print("|---|---|---|---|---|---|---|")
    for text in args.hw:
        hw = parse_hw(text)
        torch = _torch_peak(hw[0]) if args.torch and hw[0] == hw[1] else ""
        for plan_text in args.plans:
            got = measure(hw, plan_text, args.iterations, args.optimizer)
            if "error" in got:
                print(f"| {text} | {plan_text} | {got['error']} | | | | {torch} |", flush=True)
                continue
            plan = resolve_plan(plan_text, hw)
            kept = got["heap"] == "kept"
            estimate = plans.peak_bytes(hw, [hw], plan, optimizer=args.optimizer, kept_heap=kept)
            error = (estimate - got["peak"]) / got["peak"]
            seconds = "" if got["seconds"] is None else f"{got['seconds']:.2f}"
            row = f"| {text} | {got['plan'] if plan else 'plain'}, {got['heap']} heap | {got['peak'] / 2**20:.0f} MB | "
            print(row + f"{estimate / 2**20:.0f} MB | {error:+.1%} | {seconds} | {torch} |", flush=True)


if __name__ == "__main__":
    main()
