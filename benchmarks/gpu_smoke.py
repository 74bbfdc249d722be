"""Fail-fast smoke test of the cupy backend, before a GPU run spends minutes on anything else.

    python -m benchmarks.gpu_smoke

One line per check. Exit status 1 if the backend cannot run at all (cupy, the device, a reduction,
cuBLAS through cupy.cublas.gemm), 3 if only the fused kernels fail (the run can go on with
MINIGRAD_FUSED=0), 0 otherwise. CUDA graphs and TF32 are reported, never fatal: both are opt-in.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

FATAL, FUSED_FAILED = 1, 3


def check(name: str, fn: Callable[[], str]) -> bool:
    try:
        detail = fn()
    except Exception as exc:  # each check's failure is a line of the report, the next check still runs
        print(f"FAIL {name}: {type(exc).__name__}: {exc}".splitlines()[0], flush=True)
        return False
    print(f"ok   {name}: {detail}", flush=True)
    return True


def device() -> str:
    from minigrad import backend

    cp = backend.array_module("cupy")
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return f"{name}, CuPy {cp.__version__}, CUDA runtime {cp.cuda.runtime.runtimeGetVersion()}"


def reduction_and_gemm() -> str:
    import cupy
    import cupy.cublas

    a = cupy.arange(12, dtype=cupy.float32).reshape(3, 4)
    assert float((a * 2 + 1).sum()) == 144.0
    rng = np.random.default_rng(0)
    x, w = rng.random((10, 5), np.float32), rng.random((5, 7), np.float32)
    out = cupy.ones((4, 7), np.float32)
    cupy.cublas.gemm("N", "N", cupy.asarray(x)[3:7], cupy.asarray(w), out=out, beta=1.0)  # a view, beta = 1
    assert np.allclose(out.get(), x[3:7] @ w + 1, rtol=1e-5)
    out[...] = np.nan
    cupy.cublas.gemm("N", "N", cupy.asarray(x)[3:7], cupy.asarray(w), out=out, beta=0.0)  # out not read
    assert np.allclose(out.get(), x[3:7] @ w, rtol=1e-5)
    return "sum, cublas.gemm beta=1 on a view and beta=0 over NaN"


def fused_kernels() -> str:
    import cupy

    import minigrad as mg
    from minigrad.kernels import fused

    if not fused.enabled(cupy):
        return "off (MINIGRAD_FUSED=0 or no ElementwiseKernel): the generic code runs"
    x = np.random.default_rng(1).integers(-2, 3, (1, 7, 9, 4)).astype(np.float32)
    results = []
    for on in (True, False):
        fused.FUSED = on
        t = mg.Tensor(cupy.asarray(x), requires_grad=True)
        y = mg.max_pool(mg.relu(mg.conv2d(t, mg.Tensor(cupy.ones((3, 3, 4, 4), np.float32)))), 2, 2)
        (y * y).sum().backward()
        results.append((y.data.get(), t.grad.get()))
    fused.FUSED = True
    assert all(np.array_equal(a, b) for a, b in zip(*results)), "fused and generic results differ"
    return "pad, max_pool, max_pool_grad, relu_grad compiled; equal to the generic code"


def tf32_switch() -> str:
    import cupy
    from cupy_backends.cuda.libs import cublas

    from minigrad import backend

    backend.allow_tf32()
    mode = cublas.getMathMode(cupy.cuda.device.get_cublas_handle())
    cublas.setMathMode(cupy.cuda.device.get_cublas_handle(), 0)  # back to FP32 for what follows
    return f"cuBLAS math mode {mode} after allow_tf32 (3 = TF32)"


def cuda_graph() -> str:
    import cupy

    from minigrad.kernels.cuda_graph import CapturedStep, use_stream_ordered_allocator

    use_stream_ordered_allocator(cupy)
    x, out = cupy.arange(1000, dtype=cupy.float32), cupy.zeros((), cupy.float32)

    def body() -> None:
        out[...] = (x * 2 + 1).sum()  # temporaries allocated and freed inside the capture

    step = CapturedStep(body, cupy)
    x += 1
    step()
    step()  # a relaunch: fails if the graph kept an allocation of its own
    assert float(out) == float((x * 2 + 1).sum().get()), "the replay did not recompute"
    return f"captured, relaunched, right result; nodes {step.node_counts()}"


def main() -> None:
    if not (check("device", device) and check("reduction and cuBLAS", reduction_and_gemm)):
        sys.exit(FATAL)
    fused_ok = check("fused kernels", fused_kernels)
    check("TF32 switch", tf32_switch)
    check("CUDA graph (opt-in)", cuda_graph)
    sys.exit(0 if fused_ok else FUSED_FAILED)


if __name__ == "__main__":
    main()
