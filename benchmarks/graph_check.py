"""The CUDA-graph iteration against the eager one: the same losses and image, and how much faster.

    python -m benchmarks.graph_check [--size 256] [--steps 10]

Runs ``steps`` iterations eagerly (workloads.minigrad_step's work) and then as graph replays
(benchmarks/graph_step.py) from the same start, compares the total loss of every step and the final
image, times both (synchronised per iteration) and counts the graph's nodes. Prints one JSON line;
exit status 1 if they differ by more than float32 summation order explains, 0 with a "skipped"
note on the CPU stand-in for CuPy (which has no stream capture).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from minigrad import backend

TOLERANCE = 1e-5  # the same kernels on the same data; only cuBLAS's choice of algorithm may differ


def eager_run(size: int, steps: int) -> tuple[list[float], np.ndarray, float]:
    from benchmarks.workloads import minigrad_setup

    objective, image, adam = minigrad_setup(size, "cupy")
    losses, seconds = [], []
    for _ in range(steps + 1):  # the first one warms up (kernel compilation) and is not timed
        start = time.perf_counter()
        adam.zero_grad()
        result = objective(image)
        result.total.backward()
        adam.step()
        losses.append(result.total.data.copy())
        backend.synchronize(image.data)
        seconds.append(time.perf_counter() - start)
    return [float(v.item()) for v in losses], backend.to_numpy(image.data), float(np.median(seconds[1:]))


def graph_run(size: int, steps: int) -> tuple[list[float], np.ndarray, float, dict]:
    from benchmarks.graph_step import graph_parts

    captured, finish, image, loss = graph_parts(size)  # warms up (one eager forward/backward) and captures
    nodes = captured.node_counts()
    losses, seconds = [], []
    for _ in range(steps + 1):
        start = time.perf_counter()
        captured()
        losses.append(loss.copy())
        finish()
        backend.synchronize(image.data)
        seconds.append(time.perf_counter() - start)
    return [float(v.item()) for v in losses], backend.to_numpy(image.data), float(np.median(seconds[1:])), nodes


def compare(size: int, steps: int) -> dict:
    eager_losses, eager_image, eager_s = eager_run(size, steps)
    graph_losses, graph_image, graph_s, nodes = graph_run(size, steps)
    loss_err = max(abs(g - e) / abs(e) for g, e in zip(graph_losses, eager_losses))
    image_err = float(np.abs(graph_image - eager_image).max() / np.abs(eager_image).max())
    return {"size": size, "steps": steps + 1, "loss_rel_err": loss_err, "image_rel_err": image_err,
            "eager_s_per_iteration": eager_s, "graph_s_per_iteration": graph_s, "speed_up": eager_s / graph_s,
            "graph_nodes": nodes, "ok": loss_err <= TOLERANCE and image_err <= TOLERANCE}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    from minigrad.kernels import cuda_graph

    xp = backend.array_module("cupy")
    if not cuda_graph.supported(xp) and getattr(xp, "__shim__", False):
        print(json.dumps({"skipped": "the CPU stand-in for CuPy has no stream capture"}))
        return
    try:
        result = compare(args.size, args.steps)
    except cuda_graph.GraphError as exc:
        sys.exit(f"graph_check: {exc}")
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
