"""What a batch of same-size photos costs: one process per photo against one batch, serially and on local workers.

    python -m benchmarks.batch_check [--size 256] [--contents 8] [--iterations 100] [--repeats 1] [--output FILE]
    python -m benchmarks.batch_check --quick        # 32x32, 3 contents, 2 iterations: checks the script

Writes a full-size VGG-19 .mat of random weights (the real layer shapes: the same work as the real file) and
``--contents`` content images and one style image of SIZE x SIZE, then times, end to end as a user runs them
(wall clock of the whole command, medians of ``--repeats``):

- a loop of single runs, one process per content (what "write a bash loop" gives: the network read and the style
  targets computed once per photo);
- one serial batch with the style targets not shared (the cache patched off in that process): what loading the
  network once saves over the loop;
- one serial batch (the network once, the targets once per size): what the shared targets save on top;
- ``--workers 2`` (two local Dask worker processes, the cores divided between their BLAS);

and, from the batch logs (each item's worker and seconds), the time of each batch outside its items: the
command's whole time less the busiest worker's items (imports, checks, the local cluster's start and stop).

It also times, in this process, reading the network file and computing the style targets once at SIZE, the
parts the batch makes once instead of once per photo, and reads each item's seconds from the batch logs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from benchmarks import common

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NO_SHARED_TARGETS = (
    "import sys, stylize_cli\nfrom vgg.cli import item\n"
    "item.cached_targets = lambda inv: {}  # every item computes its own style targets\n"
    "sys.exit(stylize_cli.main(sys.argv[1:]))"
)


def write_inputs(folder: str, size: int, contents: int) -> dict[str, str]:
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from synthetic_vgg import sample_image, write_vgg19_mat

    from vgg.net.layers import BLOCK_CHANNELS

    paths = {"network": os.path.join(folder, "vgg-full-random.mat"), "album": os.path.join(folder, "album")}
    write_vgg19_mat(paths["network"], "new", channels=BLOCK_CHANNELS)
    os.makedirs(paths["album"])
    for k in range(contents):
        image = sample_image(size, size, seed=10 + k).astype(np.uint8)
        Image.fromarray(image).save(os.path.join(paths["album"], f"photo{k:02d}.png"))
    paths["style"] = os.path.join(folder, "style.png")
    Image.fromarray(sample_image(size, size, seed=2).astype(np.uint8)).save(paths["style"])
    return paths


def command(paths: dict[str, str], content: list[str], output: str, iterations: int, *extra: str) -> list[str]:
    return ["--content", *content, "--styles", paths["style"], "--output", output, "--network", paths["network"],
            "--iterations", str(iterations), "--seed", "1", "--progress", "never", *extra]  # fmt: skip


def timed(argv: list[str], code: str | None = None) -> float:
    """Seconds of one CLI process, start to exit (SystemExit naming the command when it fails)."""
    program = ["-c", code] if code else [os.path.join(ROOT, "stylize_cli.py")]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *program, *argv], capture_output=True, text=True, check=False, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"batch_check: exit {proc.returncode}: {' '.join(argv[:4])} ...: {proc.stderr[-400:]}")
    return seconds


def item_seconds(log: str) -> dict[str, list[float]]:
    """Each item's own seconds, by the worker it ran on, from the last batch in a batch log."""
    with open(log, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    last = max(i for i, r in enumerate(records) if r["event"] == "batch start")
    by_worker: dict[str, list[float]] = {}
    for r in records[last:]:
        if r["event"] == "item" and r["status"] == "done":
            by_worker.setdefault(r["worker"], []).append(r["seconds"])
    return by_worker


def in_process_parts(paths: dict[str, str], size: int, repeats: int) -> dict[str, float]:
    """Median seconds of reading the network file and of computing one style's targets at SIZE, here."""
    from vgg.files.images import load_image
    from vgg.net.load import load_network
    from vgg.style import pixels
    from vgg.style.losses import style_grams

    loads, grams = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        net = load_network(paths["network"], check_release=False)
        loads.append(time.perf_counter() - start)
        style = pixels.preprocess(load_image(paths["style"]), net.mean_pixel, net.dtype)[None]
        start = time.perf_counter()
        style_grams(net, style)
        grams.append(time.perf_counter() - start)
    return {"network_load": statistics.median(loads), "style_targets": statistics.median(grams), "size": size}


def measure(paths: dict[str, str], folder: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds of each way, ``args.repeats`` times."""
    album = sorted(os.path.join(paths["album"], f) for f in os.listdir(paths["album"]))
    out: dict[str, list[float]] = {}
    for r in range(args.repeats):
        loop_dir = os.path.join(folder, f"loop{r}")
        os.makedirs(loop_dir)
        out.setdefault("loop", []).append(sum(
            timed(command(paths, [c], os.path.join(loop_dir, os.path.basename(c)), args.iterations)) for c in album
        ))  # fmt: skip
        for way, extra, code in (("unshared", (), NO_SHARED_TARGETS), ("serial", (), None),
                                 ("workers2", ("--workers", "2"), None)):  # fmt: skip
            target = os.path.join(folder, f"{way}{r}")
            os.makedirs(target)
            log = os.path.join(folder, f"{way}{r}.jsonl")
            argv = command(paths, [paths["album"]], target, args.iterations, "--log", log, *extra)
            seconds = timed(argv, code)
            by_worker = item_seconds(log)
            out.setdefault(way, []).append(seconds)
            out.setdefault(f"{way}_items", []).extend(s for items in by_worker.values() for s in items)
            out.setdefault(f"{way}_outside", []).append(seconds - max(sum(items) for items in by_worker.values()))
    return out


def report(times: dict[str, list[float]], parts: dict[str, float], args: argparse.Namespace) -> str:
    med = {k: statistics.median(v) for k, v in times.items()}
    n, serial = args.contents, med["serial"]
    rows = [
        ["a loop of single runs (one process per photo)", med["loop"]],
        ["one batch, style targets not shared", med["unshared"]],
        ["one batch (serial, this process)", med["serial"]],
        ["one batch, --workers 2", med["workers2"]],
    ]
    table = common.markdown_table(
        ["way", "seconds in all", "seconds per photo", "against the serial batch"],
        [[w, f"{s:.2f}", f"{s / n:.2f}", f"{s / serial:.2f}x"] for w, s in rows],
    )
    return "\n".join([
        f"{n} contents of {args.size}x{args.size}, one style of the same size, {args.iterations} iterations each, "
        f"medians of {args.repeats}; {common.cpu_name()}, {os.cpu_count()} cores",
        "", table, "",
        f"each item's own seconds (median): serial {statistics.median(times['serial_items']):.2f}, "
        f"on a worker {statistics.median(times['workers2_items']):.2f}",
        f"outside the items (imports, checks, start and stop): serial batch {med['serial_outside']:.2f} s, "
        f"--workers 2 {med['workers2_outside']:.2f} s",
        f"in this process: reading the network file {parts['network_load']:.2f} s, one style's targets at "
        f"{args.size}x{args.size} {parts['style_targets']:.3f} s",
        f"what the batch saves over the loop: {med['loop'] - serial:.2f} s ({(med['loop'] - serial) / n:.2f} s a "
        f"photo); of that, the shared targets: {med['unshared'] - serial:.2f} s measured, "
        f"{(n - 1) * parts['style_targets']:.2f} s expected ({n - 1} x one computation)",
    ])  # fmt: skip


def versions() -> dict[str, str]:
    """The versions that matter here (common.versions imports the peer frameworks, which take seconds)."""
    import distributed

    return {"python": platform.python_version(), "numpy": np.__version__, "distributed": distributed.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--contents", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--output", help="also write the seconds as JSON to this file")
    parser.add_argument("--quick", action="store_true", help="32x32, 3 contents, 2 iterations: checks the script")
    args = parser.parse_args()
    if args.quick:
        args.size, args.contents, args.iterations = 32, 3, 2
    common.reexec_without_blas_overrides()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_inputs(folder, args.size, args.contents)
        times = measure(paths, folder, args)
        parts = in_process_parts(paths, args.size, max(3, args.repeats))
    print(report(times, parts, args))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "seconds": times, "parts": parts, "versions": versions()}, f, indent=1)


if __name__ == "__main__":
    main()
