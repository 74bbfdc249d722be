"""The bodies of minigrad's cupy.ElementwiseKernels compiled as C++ for the host, on numpy arrays.

Neither numpy nor the CPU stand-in for CuPy can run CUDA code, so the fused kernels' logic would
otherwise go unchecked until a GPU run. ``HostModule`` stands in for the cupy module in
``minigrad.kernels.fused``: its ``ElementwiseKernel`` turns CuPy's parameter list into a C++ loop
over ``i`` (raw arrays as pointers, the others as the element at ``i``), builds it with the host's
C++ compiler and calls it through ctypes. Only C-contiguous arrays and the types our kernels use.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

_C_TYPES = {"int32": ("int", ctypes.c_int)}
_FLOAT_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_BUILD = Path(tempfile.gettempdir()) / "minigrad-host-kernels"


def compiler() -> str | None:
    return shutil.which("c++") or shutil.which("g++")


def _params(spec: str) -> list[tuple[bool, str, str]]:
    """'raw T x, int32 h' -> [(raw, type, name), ...]"""
    out = []
    for part in spec.split(","):
        words = part.split()
        raw = words[0] == "raw"
        out.append((raw, *words[raw:]))
    return out


class HostKernel:
    def __init__(self, in_params: str, out_params: str, body: str, name: str) -> None:
        self.ins, self.outs, self.body, self.name = _params(in_params), _params(out_params), body, name
        self._libs: dict[str, ctypes.CDLL] = {}

    def _source(self, t: str, arrays: tuple[bool, ...]) -> str:
        args, lines = ["long long size"], []
        for (raw, typ, name), is_array in zip(self.ins, arrays):
            if raw:
                args.append(f"const T* {name}")
            elif is_array:  # an elementwise input: the element at i
                args.append(f"const T* p_{name}")
                lines.append(f"const T {name} = p_{name}[i];")
            else:  # a scalar, as CuPy passes a non-array argument
                args.append(f"{'T' if typ == 'T' else _C_TYPES[typ][0]} {name}")
        for _, _, name in self.outs:
            args.append(f"T* p_{name}")
            lines.append(f"T& {name} = p_{name}[i];")
        return (
            f"#include <cmath>\n#define CUDART_INF_F INFINITY\ntypedef {t} T;\n"
            f'extern "C" void run({", ".join(args)}) {{\n'
            f"  for (long long i = 0; i < size; ++i) {{\n    {' '.join(lines)}\n{self.body}\n  }}\n}}\n"
        )

    def _lib(self, t: str, arrays: tuple[bool, ...]) -> ctypes.CDLL:
        key = (t, arrays)
        if key not in self._libs:
            source = self._source(t, arrays)
            tag = hashlib.sha256(source.encode()).hexdigest()[:16]
            _BUILD.mkdir(exist_ok=True)
            lib = _BUILD / f"{self.name}-{tag}.so"
            if not lib.exists():
                src = _BUILD / f"{self.name}-{tag}.cpp"
                src.write_text(source)
                subprocess.run([compiler(), "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
            self._libs[key] = ctypes.CDLL(str(lib))
        return self._libs[key]

    def __call__(self, *args):
        if len(args) == len(self.ins):  # no output given: shaped and typed like the first elementwise input
            like = next(a for (raw, _, _), a in zip(self.ins, args) if not raw and isinstance(a, np.ndarray))
            args = (*args, np.empty(like.shape, like.dtype))
        out = args[-1]
        arrays = tuple(isinstance(a, np.ndarray) for a in args[:-1])
        assert all(a.flags.c_contiguous for a in args if isinstance(a, np.ndarray)), "C-contiguous arrays only"
        elementwise = [a for (raw, _, _), a in zip(self.ins, args) if not raw and isinstance(a, np.ndarray)]
        assert all(a.shape == out.shape for a in elementwise), "elementwise arguments shaped like the output"
        t = _FLOAT_TYPES[out.dtype]
        c_args = [ctypes.c_longlong(out.size)]
        for (_, typ, _), a in zip(self.ins + self.outs, args):
            if isinstance(a, np.ndarray):
                c_args.append(a.ctypes.data_as(ctypes.c_void_p))
            elif typ == "T":
                c_args.append(ctypes.c_float(a) if t == "float" else ctypes.c_double(a))
            else:
                c_args.append(_C_TYPES[typ][1](a))
        self._lib(t, arrays).run(*c_args)
        return out


class HostModule:
    """What minigrad.kernels.fused asks of the cupy module, on numpy arrays."""

    ElementwiseKernel = HostKernel
    empty = staticmethod(np.empty)
    ascontiguousarray = staticmethod(np.ascontiguousarray)
