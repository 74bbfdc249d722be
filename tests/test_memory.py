"""vgg.style.memory: the peak-memory estimate from the layer table, and the memory the machine reports."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from vgg.net.layers import layer_shapes
from vgg.style import memory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MB = 2**20


def test_layer_shapes_halve_at_each_pooling_and_never_reach_zero():
    shapes = {name: (h, w, c) for name, h, w, _, c in layer_shapes((17, 3), "relu5_1")}
    assert shapes["relu1_1"] == (17, 3, 64)
    assert shapes["pool1"] == (9, 2, 64) and shapes["pool4"] == (2, 1, 512)
    assert shapes["relu5_1"] == (2, 1, 512)


def test_estimate_grows_with_the_pixels_and_the_optimiser_state():
    small = memory.estimate_peak_bytes((256, 256), [(256, 256)])
    large = memory.estimate_peak_bytes((512, 512), [(512, 512)])
    fixed = memory.estimate_peak_bytes((1, 1), [(1, 1)])
    assert 3.5 < (large - fixed) / (small - fixed) < 4.5  # about proportional to the pixel count
    lbfgs = memory.estimate_peak_bytes((256, 256), [(256, 256)], optimizer="lbfgs", history_size=10)
    assert lbfgs - small == (2 * 10 + memory.LBFGS_EXTRA_VECTORS - 2) * 256 * 256 * 3 * 4
    doubled = memory.estimate_peak_bytes((256, 256), [(256, 256)], dtype=np.float64)
    assert doubled - memory.HOST_BASELINE == 2 * (small - memory.HOST_BASELINE)
    on_gpu = memory.estimate_peak_bytes((256, 256), [(256, 256)], backend="cupy")
    assert small - on_gpu == memory.HOST_BASELINE  # device memory: no interpreter in it


def test_a_large_style_image_can_be_the_peak():
    alone = memory.estimate_peak_bytes((64, 64), [(64, 64)])
    big_style = memory.estimate_peak_bytes((64, 64), [(2000, 2000)])
    assert big_style > alone + 2000 * 2000 * 64 * 4  # its conv1 layers, at least


def test_host_memory_available_is_what_proc_meminfo_says(tmp_path, monkeypatch):
    available = memory.available_bytes("numpy")
    assert available is None or available > 0
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo here")
    with open("/proc/meminfo") as f:
        line = next(x for x in f if x.startswith("MemAvailable:"))
    assert abs(available - int(line.split()[1]) * 1024) < 512 * MB  # read a moment apart


def test_gpu_memory_is_none_without_a_device():
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert memory.available_bytes("cupy") is None
    else:
        pytest.skip("cupy is installed; its free memory is whatever the device has")


@pytest.mark.parametrize("upper, limit, expected", [(1000, 437, 437), (1000, 5000, 1000), (1000, 0, None)])
def test_largest_fitting_width_is_a_bisection(upper, limit, expected):
    assert memory.largest_fitting_width(lambda w: w <= limit, upper) == expected


@functools.cache  # each (size, plan) is run once for the whole module
def _measured(size: int, plan: str = "plain", iterations: int = 1) -> dict:
    """Peak RSS (and the heap it ran in) of the full-size random VGG-19's first steps in a fresh process
    (benchmarks/memory_check.py)."""
    cmd = [sys.executable, "-m", "benchmarks.memory_check", "--child", f"{size}x{size}", "--plans", plan]
    cmd += ["--iterations", str(iterations)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _measured_peak(size: int, plan: str = "plain", iterations: int = 1) -> int:
    return _measured(size, plan, iterations)["peak"]


def test_estimate_and_its_growth_are_within_15_percent_of_measured_peaks():
    small, large = 128, 384
    peaks = {s: _measured_peak(s) for s in (small, large)}
    estimates = {s: memory.estimate_peak_bytes((s, s), [(s, s)]) for s in (small, large)}
    for s in (small, large):
        assert abs(estimates[s] - peaks[s]) <= 0.15 * peaks[s], (s, estimates[s] / MB, peaks[s] / MB)
    growth, measured_growth = estimates[large] - estimates[small], peaks[large] - peaks[small]
    assert abs(growth - measured_growth) <= 0.15 * measured_growth, (growth / MB, measured_growth / MB)


@pytest.mark.parametrize(
    "size, plan, heap",
    [(512, "pool2:16", "kept"), (512, "pool3:8", "kept"), (1024, "pool2:128", "kept"), (512, "pool2:16", "glibc")],
)
def test_a_plans_estimate_is_within_15_percent_of_its_measured_peak(size, plan, heap):
    """In the heap the run keeps or leaves to glibc (a budget of what it would hold kept, or a little less). Measured
    here on 2026-12-03: kept 368 and 324 MB (512x512), 1432 MB (1024x1024, two strips: the pieces the rest's backward
    leaves in a kept heap are most of the difference), glibc 339 MB."""
    from vgg.net.tiles import Plan
    from vgg.style import plans

    split, rows = plan.split(":")
    hw, chosen = (size, size), Plan(split, int(rows))
    kept = plans.peak_bytes(hw, [hw], chosen, kept_heap=True)
    budget = int(kept / plans.PLAN_MARGIN) + (1 if heap == "kept" else -1)
    run = _measured(size, f"{plan}@{budget}", iterations=3)  # the steady state: Adam's moments and the reused heap
    assert run["heap"] == heap
    estimate = plans.peak_bytes(hw, [hw], chosen, kept_heap=heap == "kept")
    assert abs(estimate - run["peak"]) <= 0.15 * run["peak"], (estimate / MB, run["peak"] / MB)
    assert run["peak"] < 0.85 * _measured_peak(size, iterations=3)  # and it is leaner than the whole graph
