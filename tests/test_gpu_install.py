"""Installing for the GPU: one CuPy wheel per CUDA major version, and the message that names it."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from minigrad import backend

ROOT = Path(__file__).resolve().parent.parent


def test_every_cuda_major_has_an_extra_with_its_one_cupy_wheel() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    extras = config["options.extras_require"]
    for major, package in backend.CUPY_PACKAGES.items():
        wanted = [line.split(">")[0].strip() for line in extras[f"gpu-cuda{major}"].split("\n") if line.strip()]
        assert wanted == [package]
    assert "gpu" not in extras  # the unqualified one installed CUDA 12's wheel beside a preinstalled CUDA 13 one


@pytest.mark.parametrize("major", [12, 13])
def test_the_hint_names_the_wheel_for_the_cuda_found(major) -> None:
    hint = backend.cupy_install_hint(major)
    assert f"'.[gpu-cuda{major}]'" in hint and backend.CUPY_PACKAGES[major] in hint
    assert all(p not in hint for m, p in backend.CUPY_PACKAGES.items() if m != major)


def test_without_a_known_cuda_the_hint_names_both(monkeypatch) -> None:
    monkeypatch.setattr(backend, "_driver_cuda_major", lambda: None)
    monkeypatch.setattr(backend, "_runtime_cuda_major", lambda: None)
    hint = backend.cupy_install_hint()
    assert all(f"'.[gpu-cuda{m}]'" in hint and p in hint for m, p in backend.CUPY_PACKAGES.items())
    assert backend.cupy_install_hint(11) == hint  # a CUDA we have no wheel for: both choices too


def test_the_driver_cuda_version_is_read_from_nvidia_smi(monkeypatch) -> None:
    header = "| NVIDIA-SMI 580.65.06   Driver Version: 580.65.06   CUDA Version: 13.0     |\n"
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/nvidia-smi" if name == "nvidia-smi" else None)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: types.SimpleNamespace(stdout=header))
    assert backend._driver_cuda_major() == 13
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: types.SimpleNamespace(stdout="no GPU here"))
    assert backend._driver_cuda_major() is None
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert backend._driver_cuda_major() is None


def _message_without(tmp_path, cupy_init: str | None) -> str:
    """What array_module('cupy') says where cupy is missing (None) or is a package running ``cupy_init``."""
    if cupy_init is not None:
        (tmp_path / "cupy").mkdir()
        (tmp_path / "cupy" / "__init__.py").write_text(cupy_init)
    block = "import sys; sys.modules['cupy'] = None\n" if cupy_init is None else ""  # as if not installed
    code = block + (
        "from minigrad import backend\n"
        "try:\n    backend.array_module('cupy')\n"
        "except backend.BackendError as e:\n    print(e)\n"
    )
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def test_the_missing_cupy_message_is_one_line_with_the_hint(tmp_path) -> None:
    out = _message_without(tmp_path, None)
    assert len(out.splitlines()) == 1
    assert out.startswith("backend 'cupy': cupy is not installed") and "pip install '.[gpu-cuda" in out


def test_a_cupy_that_does_not_import_is_told_apart_from_a_missing_one(tmp_path) -> None:
    out = _message_without(tmp_path, "raise ImportError('libcudart.so.12: cannot open shared object file\\nmore')\n")
    assert len(out.splitlines()) == 1
    assert out.startswith("backend 'cupy': cupy is installed but does not import (a wheel for another CUDA?)")
    assert "libcudart.so.12: cannot open shared object file;" in out and "pip install '.[gpu-cuda" in out
