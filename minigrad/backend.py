"""Array backends: the only module that imports cupy.

A graph lives on one backend. ``get_array_module(array)`` picks numpy or cupy from an
array, ``array_module(name)`` gives the module for a backend name, importing cupy only
when it is asked for.
"""

from __future__ import annotations

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


def _import_cupy() -> ModuleType:
    try:
        import cupy  # noqa: PLC0415 - the one place cupy is imported
    except ImportError as exc:
        raise BackendError(
            f"backend 'cupy': cupy is not installed (pip install '.[gpu]', e.g. cupy-cuda12x): {exc}"
        ) from None
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
    """Move an array to the named backend."""
    xp = array_module(name)
    if xp is np:
        return to_numpy(array)
    return xp.asarray(array)
