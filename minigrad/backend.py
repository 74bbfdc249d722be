"""Array backends: the only module that imports cupy.

A graph lives on one backend. ``get_array_module(array)`` picks numpy or cupy from an
array, ``array_module(name)`` gives the module for a backend name, importing cupy only
when it is asked for.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy")


class BackendError(RuntimeError):
    """A backend was asked for that cannot run here (one-line message)."""


def _loaded_cupy() -> ModuleType | None:
    # Only look at cupy if someone already imported it: never import it as a side effect.
    return sys.modules.get("cupy")


def get_array_module(*arrays: Any) -> ModuleType:
    """numpy or cupy, whichever the given arrays belong to."""
    cp = _loaded_cupy()
    if cp is not None:
        for a in arrays:
            if isinstance(a, cp.ndarray):
                return cp
    return np


def backend_name(array: Any) -> str:
    return "cupy" if get_array_module(array) is not np else "numpy"


def is_array(obj: Any) -> bool:
    if isinstance(obj, np.ndarray):
        return True
    cp = _loaded_cupy()
    return cp is not None and isinstance(obj, cp.ndarray)


CUPY_PACKAGES = {12: "cupy-cuda12x", 13: "cupy-cuda13x"}  # CUDA major -> wheel (setup.cfg's gpu-cudaN extras)


def _driver_cuda_major() -> int | None:
    """The CUDA major version the driver supports, from nvidia-smi's header; None if it cannot tell."""
    import re
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"CUDA Version:\s*(\d+)", out)
    return int(found.group(1)) if found else None


def _runtime_cuda_major() -> int | None:
    """The major version of a CUDA runtime library the loader can find (libcudart.so.N), if any."""
    import ctypes.util
    import re

    found = re.search(r"cudart\.so\.(\d+)", ctypes.util.find_library("cudart") or "")
    return int(found.group(1)) if found else None


def cupy_install_hint(cuda_major: int | None = None) -> str:
    """Which CuPy wheel to install here: the one for this machine's CUDA major version, or both choices."""
    major = cuda_major if cuda_major is not None else (_driver_cuda_major() or _runtime_cuda_major())
    if major in CUPY_PACKAGES:
        return f"pip install '.[gpu-cuda{major}]' ({CUPY_PACKAGES[major]}, for this machine's CUDA {major})"
    choices = " or ".join(f"'.[gpu-cuda{m}]' ({pkg})" for m, pkg in CUPY_PACKAGES.items())
    return f"pip install {choices}, the one matching your CUDA major version"


def _import_cupy() -> ModuleType:
    try:
        import cupy  # noqa: PLC0415 - the one place cupy is imported
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == "cupy"
        state = "is not installed" if missing else "is installed but does not import (a wheel for another CUDA?)"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendError(f"backend 'cupy': cupy {state}: {reason}; {cupy_install_hint()}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError and driver errors
        raise BackendError(f"backend 'cupy': no usable CUDA device ({exc})") from None
    if count < 1:
        raise BackendError("backend 'cupy': no CUDA device found")
    return cupy


def array_module(name: str) -> ModuleType:
    """The array module for a backend name; a clear BackendError if it cannot run here."""
    if name == "numpy":
        return np
    if name == "cupy":
        return _import_cupy()
    raise BackendError(f"unknown backend {name!r}: expected one of {', '.join(BACKENDS)}")


def cupy_submodule(name: str) -> ModuleType:
    """A submodule of cupy (e.g. 'cublas') for kernels that hold cupy arrays, so cupy is loaded."""
    import importlib

    return importlib.import_module(f"cupy.{name}")


def allow_tf32() -> None:
    """Let float32 GEMMs on the GPU use TF32 tensor cores (faster, ~1e-3 relative error).

    Two switches: CUPY_TF32 for cupy's own matmul, and the cuBLAS handle's math mode for the
    GEMMs the convolution calls through cupy.cublas directly.
    """
    os.environ["CUPY_TF32"] = "1"
    cp = _import_cupy()
    import importlib

    cublas = importlib.import_module("cupy_backends.cuda.libs.cublas")
    tf32_mode = getattr(cublas, "CUBLAS_TF32_TENSOR_OP_MATH", 3)  # cublasMath_t's value
    cublas.setMathMode(cp.cuda.device.get_cublas_handle(), tf32_mode)


def cuda_available() -> bool:
    """True when cupy imports and sees at least one CUDA device."""
    try:
        array_module("cupy")
    except BackendError:
        return False
    return True


def to_numpy(array: Any) -> np.ndarray:
    """A host copy (or the array itself when it already is a numpy array)."""
    if isinstance(array, np.ndarray):
        return array
    if is_array(array):
        return array.get()
    return np.asarray(array)


def to_backend(array: Any, name: str) -> Any:
    """The array on the named backend: a copy when it moves, the array itself when it is already there."""
    xp = array_module(name)
    if xp is np:
        return to_numpy(array)
    return xp.asarray(array)


def reuse_host_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.

    Every iteration allocates the same large arrays again; by default glibc serves those
    from fresh mmap()s, and the page faults of touching new pages cost more system time than
    some convolutions. With mmap off and no trimming the heap is reused. Process-wide, so the
    CLI and the benchmarks opt in; the library never calls it by itself. Returns False where
    it does not apply (not glibc).
    """
    return _mallopt(mmap_max=0, trim_threshold=2**30)


def release_host_memory() -> bool:
    """Undo reuse_host_memory: large arrays from mmap() again, given back to the OS when freed (glibc's
    defaults). A run whose arrays come in many sizes (a plan's strips) fragments a heap that is never given
    back; this keeps its peak at what it holds. Returns False where it does not apply (not glibc)."""
    return _mallopt(mmap_max=65536, trim_threshold=128 * 1024)


def _mallopt(mmap_max: int, trim_threshold: int) -> bool:
    import ctypes
    import ctypes.util

    m_trim_threshold, m_mmap_max = -1, -4  # glibc's malloc.h
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(m_mmap_max, mmap_max)) and bool(mallopt(m_trim_threshold, trim_threshold))


def synchronize(array: Any) -> None:
    """Wait for the device work queued on the array's backend (a no-op on numpy)."""
    if get_array_module(array) is not np:
        sys.modules["cupy"].cuda.get_current_stream().synchronize()
