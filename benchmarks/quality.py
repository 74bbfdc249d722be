"""Time to a good image: total loss against wall-clock seconds for Adam, L-BFGS and coarse to fine with each.

At 512x512 on the CPU with a full-width VGG-19 of random weights (vgg.random_vgg19: real shapes, no
download; the losses are not those of the real network, the comparison between methods is the point),
the content and style of examples/ resized to 512 wide. Adam (the seed's settings) runs 1000 iterations
first; its final total loss is the target. Each other method then runs until it reaches that loss at full
size or has used its budget (as many seconds as Adam used, or --budget). The methods run in the order of
the table, and each one's line and the points so far are written as soon as it ends, so a run cut short
keeps what it measured. Coarse to fine runs fixed iterations at the smaller widths
(their losses are of smaller images, so not comparable and not plotted) and then the full width. The
clock runs from the start of each run (style targets included) and counts every scale.

    python -m benchmarks.quality                      # the real measurement (about 4 x Adam's time at most)
    python -m benchmarks.quality --quick              # an end-to-end check on small sizes, seconds

Prints a markdown table (each method's loss at a third of Adam's time, and the seconds it needs to reach
the loss Adam had after a quarter, half and all of its iterations, against Adam's own time for it) and
writes the curves as a PNG (vgg.report.plot.draw_curves) and the points as JSON; ``--from-json`` prints the table
and draws the PNG of a saved run again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

from benchmarks.common import cpu_name, markdown_table, reexec_without_blas_overrides
from minigrad import backend as mg_backend
from vgg import Run, load_image, random_vgg19, scale_style
from vgg.report.plot import draw_curves
from vgg.style import pixels
from vgg.style.loop import LossesRead

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
COLOURS = ((0, 0, 0), (214, 39, 40), (31, 119, 180), (44, 160, 44))


def methods(args: argparse.Namespace) -> dict[str, dict]:
    """Each method's settings for vgg.Run; coarse to fine at size / 4, size / 2, size."""
    widths, coarse = [args.size // 4, args.size // 2, args.size], [args.coarse_iterations] * 2
    lbfgs = {"optimizer": "lbfgs", "line_search": args.line_search}
    return {
        "adam": {"iterations": args.adam_iterations},
        "lbfgs, coarse to fine": {**lbfgs, "scales": widths, "scale_iterations": [*coarse, args.lbfgs_iterations]},
        "lbfgs": {**lbfgs, "iterations": args.lbfgs_iterations},
        "adam, coarse to fine": {"scales": widths, "scale_iterations": [*coarse, args.adam_iterations]},
    }


def scene(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The examples' content resized to size x size and their style at its own size."""
    content = pixels.resize(load_image(os.path.join(EXAMPLES, "content.jpg")), (size, size))
    return content, load_image(os.path.join(EXAMPLES, "style.jpg"))


def measure(net, content, style, settings: dict, target: float | None, budget: float | None) -> dict:
    """(seconds, total) at each read-back of the full-size loss; stops at the target or the budget."""
    full = settings.get("scales") is None
    styles = [scale_style(style, content.shape[1])] if full else [style]
    run = Run(net, content, styles, seed=0, **settings)
    last_stage, points, start = len(run.bounds) - 1, [], time.perf_counter()
    for event in run.events():
        if not isinstance(event, LossesRead) or event.stage != last_stage:
            continue
        seconds, total = time.perf_counter() - start, event.losses["total"]
        points.append((seconds, event.i, total))
        if (target is not None and total <= target) or (budget is not None and seconds >= budget):
            break
    return {"points": points, "seconds": time.perf_counter() - start}


def seconds_to(points: list[tuple[float, int, float]], target: float) -> float | None:
    return next((s for s, _, total in points if total <= target), None)


def milestones(adam: list[tuple[float, int, float]]) -> list[tuple[int, float]]:
    """(iteration, loss) of Adam after a quarter, half and all of its iterations: the losses to reach."""
    n = adam[-1][1]
    by_iteration = {i: total for _, i, total in adam}
    return [(i, by_iteration[i]) for i in sorted({n // 4, n // 2, n}) if i in by_iteration]


def loss_at(points: list[tuple[float, int, float]], seconds: float) -> float | None:
    """The lowest full-size loss read by ``seconds``, or None before the first read."""
    seen = [total for s, _, total in points if s <= seconds]
    return min(seen) if seen else None


def report(results: dict[str, dict], adam_seconds: float) -> str:
    """One row a method: what it ran, its loss at a third of Adam's time, and the seconds it took to reach
    the loss Adam had after a quarter, half and all of its iterations (x Adam's own time for that one)."""
    marks = milestones(results["adam"]["points"])
    header = ["method", "iterations (all scales)", "seconds run", "final loss", "loss at 1/3 of Adam's time"]
    header += [f"s to Adam's loss at {i} ({total:.5g})" for i, total in marks]
    rows = []
    for name, result in results.items():
        points, final = result["points"], result["points"][-1]
        third = loss_at(points, adam_seconds / 3)
        row = [name, str(final[1]), f"{result['seconds']:.1f}", f"{final[2]:.5g}"]
        row.append("-" if third is None else f"{third:.5g}")
        for _, total in marks:
            reached = seconds_to(points, total)
            adam = seconds_to(results["adam"]["points"], total)
            row.append("not reached" if reached is None else f"{reached:.0f} ({reached / adam:.2f}x)")
        rows.append(row)
    return markdown_table(header, rows)


def plot(results: dict[str, dict], path: str) -> None:
    curves = {name: ([p[0] for p in r["points"]], [p[2] for p in r["points"]]) for name, r in results.items()}
    draw_curves(curves, list(zip(results, COLOURS)), x_label="seconds").save(path)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="64x64, 1/8 of the channels, 30 Adam iterations")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--adam-iterations", type=int, default=1000)
    p.add_argument("--coarse-iterations", type=int, default=100, help="at each smaller width of coarse to fine")
    p.add_argument("--lbfgs-iterations", type=int, default=1000, help="at most (the budget stops it before)")
    p.add_argument("--line-search", choices=("none", "strong_wolfe"), default="none", help="of the L-BFGS runs")
    p.add_argument("--budget", type=float, help="seconds each method after Adam may run (default: Adam's)")
    p.add_argument("--channel-scale", type=float, default=1.0)
    p.add_argument("--output", default="quality", help="PREFIX: writes PREFIX.png and PREFIX.json")
    p.add_argument("--from-json", metavar="FILE", help="table and PNG of a saved run; computes nothing")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.adam_iterations, args.coarse_iterations, args.channel_scale = 64, 30, 10, 1 / 8
    return args


def save(args: argparse.Namespace, target: float, results: dict[str, dict]) -> None:
    """The points so far as PREFIX.json and the curves as PREFIX.png, each replaced whole."""
    plot(results, args.output + ".tmp.png")
    os.replace(args.output + ".tmp.png", args.output + ".png")
    with open(args.output + ".tmp.json", "w", encoding="utf-8") as f:
        json.dump({"args": vars(args), "target": target, "results": results}, f)
    os.replace(args.output + ".tmp.json", args.output + ".json")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.from_json is not None:
        with open(args.from_json, encoding="utf-8") as f:
            saved = json.load(f)
        results = saved["results"]
        plot(results, args.output + ".png")
        print(report(results, results["adam"]["points"][-1][0]))
        return 0
    mg_backend.reuse_host_memory()
    net = random_vgg19(seed=0, channel_scale=args.channel_scale)
    content, style = scene(args.size)
    plans = methods(args)
    results = {"adam": measure(net, content, style, plans.pop("adam"), None, None)}
    adam_seconds, _, target = results["adam"]["points"][-1]  # at Adam's last iteration
    print(f"adam: {args.adam_iterations} iterations in {adam_seconds:.1f} s, final loss {target:.6g}", file=sys.stderr)
    save(args, target, results)
    budget = adam_seconds if args.budget is None else args.budget
    for name, settings in plans.items():
        results[name] = measure(net, content, style, settings, target, budget)
        seconds, (_, i, total) = results[name]["seconds"], results[name]["points"][-1]
        reached = seconds_to(results[name]["points"], target)
        outcome = "not reached" if reached is None else f"reached in {reached:.1f} s"
        print(f"{name}: {outcome}; {i} iterations in {seconds:.1f} s, final loss {total:.6g}", file=sys.stderr)
        save(args, target, results)
    machine = f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"{args.size}x{args.size}, random VGG-19 (channel scale {args.channel_scale:g}), {machine}\n")
    print(report(results, adam_seconds))
    return 0 if math.isfinite(target) else 1


if __name__ == "__main__":
    reexec_without_blas_overrides()
    sys.exit(main())
