"""numpy against cupy on identical inputs: every op (value and every input gradient), the VGG
objective, the stylize loop, and cupy's fused kernels against cupy's generic code.

    python -m benchmarks.gpu_parity [--json parity.json] [--quick]

Errors are max|cupy - numpy| / max|numpy| per array. One line per case (PASS/FAIL), exit status 1
if any case failed. Runs on a GPU; on the CPU stand-in for CuPy it checks the API use.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import re
import sys
import traceback
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import backend

F32, F64 = 1e-4, 1e-10  # float32 sums over up to ~5000 terms; float64


def rel(a: Any, b: Any) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    same_nan = np.array_equal(np.isnan(a), np.isnan(b))
    a, b = np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0)
    return float(np.abs(a - b).max(initial=0) / max(np.abs(b).max(initial=0), 1e-30)) if same_nan else float("inf")


class Cases:
    def __init__(self) -> None:
        self.results: list[dict] = []

    def run(self, name: str, fn: Callable[[], tuple[bool, dict]]) -> None:
        try:
            ok, info = fn()
        except Exception as exc:  # a case that crashes is a failed case, and the others still run
            ok, info = False, {"error": f"{type(exc).__name__}: {exc}"[:300], "where": traceback.format_exc()[-600:]}
        self.results.append({"case": name, "ok": bool(ok), **info})
        print(("PASS " if ok else "FAIL ") + name + " " + json.dumps(info, default=str)[:240], flush=True)

    def failed(self) -> list[str]:
        return [r["case"] for r in self.results if not r["ok"]]


def _inputs(name: str, shapes: list[tuple], dtype: Any, ties: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if ties:  # small integers: many equal values in one pooling window
        return [rng.integers(-2, 3, s).astype(dtype) for s in shapes]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def op_case(f: Callable, shapes: list[tuple], dtype: Any = np.float32, ties: bool = False, name: str = "") -> Callable:
    """Value and the gradient of every input, numpy vs cupy, under a random cotangent."""

    def go() -> tuple[bool, dict]:
        xs = _inputs(name, shapes, dtype, ties)
        with mg.no_grad():
            shape = f(*map(mg.Tensor, xs)).shape
        cot = np.random.default_rng(7).standard_normal(shape).astype(dtype)
        out = {}
        for b in ("numpy", "cupy"):
            xp = backend.array_module(b)
            ts = [mg.Tensor(xp.asarray(x), requires_grad=True) for x in xs]
            y = f(*ts)
            (y * mg.Tensor(xp.asarray(cot))).sum().backward()
            out[b] = [backend.to_numpy(y.data)] + [backend.to_numpy(t.grad) for t in ts]
        errors = [rel(c, n) for c, n in zip(out["cupy"], out["numpy"])]
        tol = F64 if dtype == np.float64 else F32
        dtypes_ok = all(a.dtype == dtype for a in out["cupy"])
        return max(errors) <= tol and dtypes_ok, {"value": errors[0], "grads": errors[1:]}

    return go


def op_cases() -> list[tuple[str, Callable, list[tuple], dict]]:
    conv = mg.conv2d
    cases = [
        ("add (broadcast)", lambda a, b: a + b, [(4, 5, 3), (5, 1)], {}),
        ("sub (broadcast)", lambda a, b: a - b, [(4, 5, 3), (3,)], {}),
        ("mul (broadcast)", lambda a, b: a * b, [(2, 6, 4), (1, 6, 1)], {}),
        ("div", lambda a, b: a / (b * b + 1.0), [(3, 7), (3, 7)], {}),
        ("neg, pow", lambda a: -(a**3) + a**2, [(5, 6)], {}),
        ("sum, mean over axes", lambda a: a.sum(axis=(0, 2), keepdims=True) + a.mean(axis=1).sum(), [(3, 4, 5)], {}),
        ("reshape, transpose, getitem", lambda a: a.reshape(4, 15).T[2:9, ::2], [(3, 4, 5)], {}),
        ("matmul (batched)", lambda a, b: a @ b, [(2, 5, 7), (7, 3)], {}),
        ("gram", mg.gram, [(4096, 64)], {}),
        ("l2_loss", mg.l2_loss, [(64, 64, 8)], {}),
        ("relu (with zeros)", mg.relu, [(2, 9, 7, 5)], {"ties": True}),
        ("conv2d float64", conv, [(1, 9, 8, 5), (3, 3, 5, 7)], {"dtype": np.float64}),
        ("conv2d + bias", lambda a, b, c: conv(a, b, bias=c), [(1, 24, 20, 64), (3, 3, 64, 128), (128,)], {}),
    ]
    for x, w, padding, stride in CONVS:
        f = functools.partial(_conv, stride=stride, padding=padding)
        cases.append((f"conv2d {x} {w} {padding} stride {stride}", f, [x, w], {}))
    for k, s, p, hw in POOLS:
        for pool in (mg.max_pool, mg.avg_pool):
            f = functools.partial(pool, size=k, stride=s, padding=p)
            cases.append((f"{pool.__name__} {k}/{s} {p} {hw}", f, [(2, *hw, 5)], {}))
    ties = ("max_pool of relu, ties (first maximum wins)", _relu_pool, [(1, 8, 8, 3)], {"ties": True})
    return [*cases, ties]


CONVS = [((1, 37, 29, 3), (3, 3, 3, 64), "SAME", 1), ((2, 16, 15, 64), (3, 3, 64, 64), "SAME", 1),
         ((1, 10, 9, 16), (3, 2, 16, 24), "VALID", 1), ((1, 11, 13, 8), (3, 3, 8, 16), "SAME", 2),
         ((1, 8, 8, 32), (1, 1, 32, 16), "SAME", 1)]  # fmt: skip
POOLS = [(2, 2, "SAME", (16, 16)), (2, 2, "SAME", (15, 13)), (3, 2, "SAME", (12, 11)), (3, 3, "VALID", (10, 9)),
         (2, 3, "SAME", (11, 10))]  # fmt: skip


def _conv(x: mg.Tensor, w: mg.Tensor, stride: int, padding: str) -> mg.Tensor:
    return mg.conv2d(x, w, stride, padding)


def _relu_pool(x: mg.Tensor) -> mg.Tensor:
    return mg.max_pool(mg.relu(x), 2, 2)


def fused_case(f: Callable, shapes: list[tuple], ties: bool = True, name: str = "") -> Callable:
    """cupy's fused kernels against cupy's generic code: value and gradient, equal to the bit."""
    from minigrad.kernels import fused

    def go() -> tuple[bool, dict]:
        xp = backend.array_module("cupy")
        if not fused.enabled(xp):
            return True, {"skipped": "no fused kernels here (the CPU stand-in, or FUSED off)"}
        xs = _inputs(name, shapes, np.float32, ties)
        out = []
        for on in (True, False):
            fused.FUSED = on
            ts = [mg.Tensor(xp.asarray(x), requires_grad=True) for x in xs]
            y = f(*ts)
            (y * y).sum().backward()
            out.append([backend.to_numpy(y.data)] + [backend.to_numpy(t.grad) for t in ts])
        fused.FUSED = True
        equal = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*out))
        return equal, {"bitwise_equal": equal}

    return go


def fused_cases() -> list[tuple[str, Callable, list[tuple]]]:
    return [
        ("conv, relu, max_pool 2/2", lambda x, w: _relu_pool(mg.conv2d(x, w)), [(1, 33, 30, 8), (3, 3, 8, 8)]),
        ("max_pool 3/2, overlapping (fused forward only)", lambda x: mg.max_pool(x, 3, 2), [(2, 13, 12, 4)]),
        ("max_pool 2/3 and 3/3 VALID (sparse windows)",
         lambda x: mg.max_pool(x, 2, 3).sum() + mg.max_pool(x, 3, 3, "VALID").sum(), [(1, 11, 10, 3)]),
    ]  # fmt: skip


def vgg_case(size: int, pooling: str) -> Callable:
    """The VGG-19 objective (real shapes, random weights): the four losses and the image gradient."""

    def go() -> tuple[bool, dict]:
        from benchmarks import workloads
        from vgg.net.layers import MEAN_PIXEL
        from vgg.net.model import VGG19, random_params
        from vgg.style.losses import Objective

        content, style, noise = workloads.images(size)
        c, r = workloads.DEFAULTS, {}
        for b in ("numpy", "cupy"):
            net = VGG19(random_params(0), MEAN_PIXEL, pooling, b)
            objective = Objective(net, content, [style], [1.0], c.content_weight, c.content_weight_blend,
                                  c.style_weight, c.style_layer_weight_exp, c.tv_weight)  # fmt: skip
            image = mg.Tensor(net.xp.asarray(noise), requires_grad=True)
            losses = objective(image)
            values = losses.values()
            losses.total.backward()
            r[b] = values, backend.to_numpy(image.grad)
        (v0, g0), (v1, g1) = r["numpy"], r["cupy"]
        loss_err = max(abs(v1[k] - v0[k]) / abs(v0[k]) for k in v0)
        grad_err = rel(g1, g0)
        return loss_err <= 1e-4 and grad_err <= 1e-3, {"loss_rel_err": loss_err, "grad_rel_err": grad_err}

    return go


_TOTAL = re.compile(r"total loss:\s*(\S+)")


def loop_case(iterations: int) -> Callable:
    """The stylize loop on a synthetic VGG-19: every printed total loss and the final image."""

    def go() -> tuple[bool, dict]:
        import tempfile

        sys.path.insert(0, "tests")
        from synthetic_vgg import sample_image, write_vgg19_mat

        from vgg.net.load import load_network as load_vgg19
        from vgg.stylize import stylize

        with tempfile.TemporaryDirectory() as d:
            write_vgg19_mat(f"{d}/vgg.mat", "new", seed=0)
            net = load_vgg19(f"{d}/vgg.mat", check_release=False)
        content, style, r = sample_image(24, 32, seed=1), sample_image(20, 28, seed=2), {}
        for b in ("numpy", "cupy"):
            stream = io.StringIO()
            *_, (_, image) = stylize(net, content, [style], iterations=iterations, seed=3, print_iterations=1,
                                     backend=b, stream=stream)  # fmt: skip
            r[b] = [float(v) for v in _TOTAL.findall(stream.getvalue())], image
        (l0, i0), (l1, i1) = r["numpy"], r["cupy"]
        info = {"losses": len(l1), "first_losses": rel(l1[:3], l0[:3]), "all_losses": rel(l1, l0), "image": rel(i1, i0)}
        close = info["first_losses"] <= 1e-4 and max(info["all_losses"], info["image"]) <= 1e-2
        return len(l1) == len(l0) == iterations and close, info

    return go


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write every case's result here")
    parser.add_argument("--quick", action="store_true", help="small sizes (the CPU stand-in)")
    args = parser.parse_args()
    backend.array_module("cupy")  # one line and exit status 1 if cupy cannot run
    cases = Cases()
    for name, f, shapes, options in op_cases():
        cases.run(name, op_case(f, shapes, name=name, **options))
    for name, f, shapes in fused_cases():
        cases.run(f"fused vs generic: {name}", fused_case(f, shapes, name=name))
    for size, pooling in [(64, "max"), (64, "avg"), (96 if args.quick else 256, "max")]:
        cases.run(f"VGG-19 objective {size}x{size} {pooling}: losses and image gradient", vgg_case(size, pooling))
    cases.run("stylize loop: printed total losses and final image", loop_case(5 if args.quick else 20))
    bad = cases.failed()
    print(f"parity: {len(cases.results) - len(bad)} passed, {len(bad)} failed" + (f": {bad}" if bad else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"failed": bad, "results": cases.results}, f, indent=1, default=str)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
