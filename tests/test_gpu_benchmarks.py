"""The GPU benchmark's fairness rules and bookkeeping, checked without a GPU (no timings asserted)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from benchmarks import bench_gpu, bench_threads, gpu_memory, worker, workloads
from vgg.style import config as vgg_config
from vgg.style import timing as estimate
from vgg.style.config import StyleConfig

ROOT = Path(__file__).resolve().parent.parent


def test_the_workload_takes_the_loops_defaults() -> None:
    config = StyleConfig()
    assert workloads.DEFAULTS == config
    objective, image, adam = workloads.minigrad_setup(16)
    assert (objective.content_weight, objective.style_weight, objective.tv_weight) == (
        config.content_weight, config.style_weight, config.tv_weight)  # fmt: skip
    assert objective.net.pooling == config.pooling and objective.content_weights == workloads.CONTENT_LAYERS
    assert adam.lr == config.lr() == 10.0 and image.shape == (1, 16, 16, 3)


def test_the_workload_takes_the_loops_flops_and_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    for size in (16, 37, 224):
        assert workloads.flops(size) == estimate.iteration_flops((size, size))
    assert workloads.DEEPEST is estimate.DEEPEST and workloads.NOISE_STD is vgg_config.NOISE_STD
    monkeypatch.setattr(estimate, "DEEPEST", "relu4_1")  # one source: the estimate's change reaches the benchmark
    assert workloads.flops(37) == estimate.iteration_flops((37, 37))
    monkeypatch.setattr(workloads, "NOISE_STD", 1.0)
    assert 0.9 < float(workloads.images(64)[2].std()) < 1.1


def _fake_torch() -> types.ModuleType:
    torch = types.ModuleType("torch")
    cudnn, matmul = types.SimpleNamespace(allow_tf32=True), types.SimpleNamespace(allow_tf32=True)
    torch.backends = types.SimpleNamespace(cudnn=cudnn, cuda=types.SimpleNamespace(matmul=matmul))
    return torch


@pytest.mark.parametrize("tf32", [False, True])
def test_pytorch_cuda_runs_fp32_unless_tf32_is_asked(monkeypatch, tf32) -> None:
    torch = _fake_torch()  # PyTorch's defaults: TF32 allowed in cuDNN convolutions
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setattr(workloads, "torch_step", lambda size, device: "step")
    args = argparse.Namespace(impl="torch", device="cuda", threads=0, tf32=tf32, size=8)
    assert worker._build(args) == "step"
    assert torch.backends.cudnn.allow_tf32 is tf32 and torch.backends.cuda.matmul.allow_tf32 is tf32


def _args(**kw) -> argparse.Namespace:
    base = {"skip_cpu": False, "cpu_max_size": 512, "tf32": True, "graph": False, "graph_sizes": [256]}
    return argparse.Namespace(**{**base, **kw})


def test_rows_pair_each_precision_with_pytorchs_same_precision(monkeypatch) -> None:
    monkeypatch.setattr(bench_gpu.common, "available", lambda name: True)
    names = [name for name, *_ in bench_gpu.runs(_args(), 256)]
    assert names == ["numpy", "cupy", "cupy graph", "torch cuda", "cupy tf32", "cupy graph tf32", "torch cuda tf32"]
    flags = {name: f for name, _, _, f in bench_gpu.runs(_args(), 256)}
    assert "--tf32" not in flags["torch cuda"] and "--tf32" in flags["torch cuda tf32"]
    assert [name for name, *_ in bench_gpu.runs(_args(tf32=False), 1024)] == ["cupy", "torch cuda"]
    timed = {"median": 1.0, "min": 1.0, "max": 1.0}
    results = {(512, "torch cuda"): {**timed, "median": 2.0}, (512, "torch cuda tf32"): {**timed, "median": 4.0}}
    assert bench_gpu.row(512, "cupy", "fp32", timed, results)[7] == "0.50"
    assert bench_gpu.row(512, "cupy tf32", "tf32", timed, results)[7] == "0.25"


class _FakePool:
    def __init__(self) -> None:
        self.used = 100

    def malloc(self, n: int) -> int:
        self.used += n
        return n

    def free(self, n: int) -> None:
        self.used -= n

    def used_bytes(self) -> int:
        return self.used

    def total_bytes(self) -> int:
        return 4096


def test_peak_memory_is_the_most_in_use_at_once_not_what_is_held_after() -> None:
    pool, installed = _FakePool(), []
    cupy = types.SimpleNamespace(get_default_memory_pool=lambda: pool,
                                 cuda=types.SimpleNamespace(set_allocator=installed.append))  # fmt: skip
    tracker = gpu_memory.PeakTracker(cupy)
    assert installed == [tracker.malloc]
    pool.free(tracker.malloc(1000))
    tracker.malloc(300)
    assert tracker.peak == 1100 and pool.used_bytes() == 400
    tracker.reset()
    tracker.malloc(50)
    assert tracker.report() == {"gpu_peak_mb": 450 / 2**20, "gpu_pool_total_mb": 4096 / 2**20}


def test_thread_scaling_rows() -> None:
    results = {("minigrad", 2): {"median": 2.0}, ("minigrad", 8): {"median": 1.0}, ("torch", 2): {"median": 1.0},
               ("torch", 8): {"error": "exit 1: no torch"}}  # fmt: skip
    assert bench_threads.scaling_rows(results, [2, 8]) == [
        ["2", "2.000", "1.000", "2.00", "1.00x", "1.00x"],
        ["8", "1.000", "exit 1: no torch", "-", "2.00x", "-"],
    ]


def test_the_profile_counts_launches_per_op_when_given_a_counter() -> None:
    issued = [0]

    def counter() -> int:
        issued[0] += 3  # every read: three more launches, as if each op issued three
        return issued[0]

    x = mg.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with mg.profiler.profile(launches=counter) as prof:
        (x * x).sum().backward()
    assert prof.launches["Mul", "forward"] == 3 and prof.launches["Sum", "backward"] == 3
    assert "launches" in prof.table().splitlines()[0]
    with mg.profiler.profile() as plain:
        (x * x).sum().backward()
    assert plain.launches is None and "launches" not in plain.table()


def test_gpu_check_is_valid_bash() -> None:
    script = ROOT / "benchmarks" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False).returncode == 0
