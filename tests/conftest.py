"""Shared fixtures: the backend fixture runs each test body on numpy and, where a CUDA
device is present, on cupy (skipped with a reason otherwise); seeds are fixed."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import backend


@pytest.fixture(params=["numpy", "cupy"])
def xp(request):
    """The array module of the backend under test."""
    if request.param == "cupy":
        try:
            return backend.array_module("cupy")
        except backend.BackendError as exc:
            pytest.skip(f"cupy backend unavailable here: {exc}")
    return np


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
