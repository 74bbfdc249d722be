"""Shared fixtures: the backend fixture runs each test body on numpy and, where a CUDA
device is present, on cupy (skipped with a reason otherwise); seeds are fixed."""

from __future__ import annotations

import signal
import sys

import numpy as np
import pytest

from minigrad import backend

# The suite sends Ctrl-C (SIGINT) to the runs it starts. A shell script's background job starts with SIGINT
# ignored, and an ignored signal stays ignored in every child: those runs would then wait for a Ctrl-C that never
# comes (as they should). Children of a process that handles SIGINT start with the default instead.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=["numpy", "cupy"])
def xp(request):
    """The array module of the backend under test."""
    if request.param == "cupy":
        try:
            return backend.array_module("cupy")
        except backend.BackendError as exc:
            pytest.skip(f"cupy backend unavailable here: {exc}")
    return np


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, imported on first use (CPU only, quiet); where it is not installed the test is skipped."""
    from tf_reference import load_tf

    return load_tf()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_terminal_summary(terminalreporter):
    """The worst relative error against TensorFlow over every compared array, when any ran."""
    ref = sys.modules.get("tf_reference")
    record = getattr(ref, "RECORD", None)
    if record is None or not record.arrays:
        return
    terminalreporter.write_sep("-", "minigrad vs TensorFlow (float32)")
    terminalreporter.write_line(
        f"worst relative error against TensorFlow: {record.worst:.3g} (at {record.where}); "
        f"{record.arrays} arrays compared over {record.cases} case runs (tolerance {ref.RTOL:g})"
    )
