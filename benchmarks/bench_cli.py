"""Does the CLI run at the benchmark's speed? Time stylize_cli.py itself against the iteration.

    python -m benchmarks.bench_cli [--size 512] [--iterations 3 13]

Writes a synthetic full-size VGG-19 .mat (the real layer shapes, random weights) and two
images, runs the CLI end to end with two iteration counts, and takes the difference: the
marginal cost of one CLI iteration (Adam, progress output, best-image tracking and all),
without the start-up (imports, reading the .mat, the targets). That is set against the
benchmark worker's median for the same size, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from benchmarks import common

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_inputs(folder: str, size: int) -> list[str]:
    sys.path.insert(0, ROOT)
    from tests.synthetic_vgg import sample_image, write_vgg19_mat
    from vgg.net.layers import BLOCK_CHANNELS

    network = os.path.join(folder, "vgg-full-random.mat")
    write_vgg19_mat(network, "new", channels=BLOCK_CHANNELS)
    paths = []
    for name, seed in (("content.png", 1), ("style.png", 2)):
        path = os.path.join(folder, name)
        Image.fromarray(sample_image(size, size, seed).astype(np.uint8)).save(path)
        paths.append(path)
    return [network, *paths]


def cli_seconds(folder: str, inputs: list[str], iterations: int) -> float:
    network, content, style = inputs
    out = os.path.join(folder, f"out{iterations}.png")
    cmd = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), "--content", content, "--styles", style,
           "--output", out, "--network", network, "--iterations", str(iterations), "--overwrite",
           "--progress", "never"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench_cli: the CLI failed: {proc.stderr.strip().splitlines()[-1:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--iterations", type=int, nargs=2, default=[3, 13], metavar=("FEW", "MANY"))
    parser.add_argument("--repeats", type=int, default=5, help="of the benchmark worker")
    args = parser.parse_args()
    common.reexec_without_blas_overrides()
    few, many = args.iterations
    with tempfile.TemporaryDirectory() as folder:
        inputs = write_inputs(folder, args.size)
        t_few, t_many = cli_seconds(folder, inputs, few), cli_seconds(folder, inputs, many)
    per_iteration = (t_many - t_few) / (many - few)
    bench = common.summarise(common.run_worker("minigrad", args.size, args.repeats))
    overhead = per_iteration / bench["median"] - 1
    print(f"size {args.size}x{args.size}: CLI {few} iterations {t_few:.2f} s, {many} iterations {t_many:.2f} s")
    print(f"CLI marginal seconds per iteration: {per_iteration:.3f}")
    print(f"benchmark median seconds per iteration: {bench['median']:.3f} (min {bench['min']:.3f})")
    print(f"CLI start-up (imports, .mat, targets): {t_few - few * per_iteration:.2f} s")
    print(f"CLI overhead per iteration over the benchmark: {100 * overhead:+.1f}%")


if __name__ == "__main__":
    main()
