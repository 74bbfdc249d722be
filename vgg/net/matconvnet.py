"""MatConvNet's imagenet-vgg-verydeep-19.mat, both releases, read by struct field name.

The old release keeps the normalization struct at the top level; the new one moves it into
`meta`. Both hold a `layers` cell of structs with fields `name`, `type` and (for conv layers)
`weights` = {kernels, bias}, in different field orders; reading fields by name lets one code path
load both. scipy.io.loadmat returns a MATLAB struct as a (1, 1) structured array and a cell as an
object array, each wrapped once more when nested.

The kernels are stored [height, width, in, out], RGB: MatConvNet's import-caffe.py made them from
Caffe's (out, in, height, width) blobs by reversing every axis and then swapping the first two, and
reversed conv1_1's input channels from BGR (docs/REFERENCE.md section 1). The seed nevertheless reads
them as [width, height, in, out] (after vl_nnconv's doc string) and transposes them with (1, 0, 2, 3),
which hands TensorFlow kernels whose spatial axes are swapped relative to Caffe's. That reading is kept
on purpose, for parity with the seed and the TensorFlow tests; the Keras and Caffe readers reproduce it.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np
import scipy.io

from ..errors import NetworkFileError
from .layers import CONV_LAYERS, VGG19_LAYERS, layer_kind
from .weights import NetworkWeights, check_finite

# The file goes on with these after the 36 layers used; they are ignored.
MATCONVNET_TAIL: tuple[str, ...] = ("pool5", "fc6", "relu6", "fc7", "relu7", "fc8", "prob")
EXPECTED = "MatConvNet's imagenet-vgg-verydeep-19.mat"
MAT_HEADER_BYTES = 128  # a MATLAB 5 / 7 .mat file starts with a 128-byte header
SIGNATURE = b"MATLAB 5.0 MAT-file"  # the header's first bytes (MATLAB 5 to 7.2; 7.3 files are HDF5)


class _MismatchError(Exception):
    """The file is a .mat but not laid out like VGG-19 (message says what was expected)."""


def is_mat(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a MATLAB 5 .mat file (what scipy.io.loadmat reads), or the
    start of one cut short."""
    n = min(len(head), len(SIGNATURE))
    return n > 0 and head[:n] == SIGNATURE[:n]


def read_vgg19_mat(path: str | os.PathLike) -> NetworkWeights:
    """Read and check the file; NetworkFileError (one line) when it is not VGG-19."""
    data = _loadmat(path)
    try:
        layout, normalization = _normalization(data)
        mean_pixel = _mean_pixel(normalization)
        params = _conv_params(_layers(data))
    except _MismatchError as exc:
        raise NetworkFileError(f"{os.fspath(path)}: not {EXPECTED}: {exc}") from None
    check_finite(path, params, mean_pixel, "normalization.averageImage")
    return NetworkWeights(params, mean_pixel, f"MatConvNet .mat ({layout} layout)", "mat")


def _loadmat(path: str | os.PathLike) -> dict[str, Any]:
    name = os.fspath(path)
    size = os.path.getsize(name)
    if size < MAT_HEADER_BYTES:
        raise NetworkFileError(
            f"{name}: not a MATLAB .mat file ({size} bytes, shorter than the {MAT_HEADER_BYTES}-byte header); "
            f"expected {EXPECTED}"
        )
    try:
        return scipy.io.loadmat(name)
    except (
        scipy.io.matlab.MatReadError,
        zlib.error,
        ValueError,
        TypeError,
        OSError,
        NotImplementedError,
        EOFError,
        IndexError,
    ) as exc:
        # truncated files raise several kinds
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NetworkFileError(
            f"{name}: not a MATLAB .mat file that scipy can read ({reason}); expected {EXPECTED}"
        ) from None


def _record(value: Any, what: str) -> np.void:
    """A MATLAB struct (a (1, 1) structured array, maybe inside (1, 1) cells) as one record."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, np.ndarray) and value.dtype.names and value.size == 1:
        return value.reshape(-1)[0]
    raise _MismatchError(f"{what} is not a MATLAB struct")


def _field(record: np.void, name: str, what: str) -> Any:
    names = record.dtype.names or ()
    if name not in names:
        raise _MismatchError(f"{what} has no field {name!r} (fields: {', '.join(names)})")
    return record[name]


def _text(value: Any) -> str:
    array = np.asarray(value).reshape(-1)
    return str(array[0]) if array.size and array.dtype.kind in "US" else ""


def _normalization(data: dict[str, Any]) -> tuple[str, np.void]:
    keys = sorted(k for k in data if not k.startswith("__"))
    if "layers" in data and "meta" in data:
        return "new", _record(_field(_record(data["meta"], "meta"), "normalization", "meta"), "meta.normalization")
    if "layers" in data and "normalization" in data:
        return "old", _record(data["normalization"], "normalization")
    raise _MismatchError(
        "expected top-level variables 'layers' and 'meta' (new release) or 'layers', 'classes' and "
        f"'normalization' (old release), found {', '.join(keys) or 'none'}"
    )


def _mean_pixel(normalization: np.void) -> np.ndarray:
    average = np.asarray(_field(normalization, "averageImage", "normalization"))
    if average.dtype.kind not in "fiu" or average.ndim < 1 or average.shape[-1] != 3:
        raise _MismatchError(f"normalization.averageImage should be an (H, W, 3) array, got {average.shape}")
    # old release: the 224x224x3 average image; new release: 1x1x3, the mean pixel itself
    average = average.reshape((-1, 1, 3)) if average.ndim != 3 else average
    return np.mean(average, axis=(0, 1)).astype(np.float32)


def _layers(data: dict[str, Any]) -> list[np.void]:
    cell = data["layers"]
    if not (isinstance(cell, np.ndarray) and cell.dtype == object and cell.size >= len(VGG19_LAYERS)):
        size = cell.size if isinstance(cell, np.ndarray) else "?"
        raise _MismatchError(f"'layers' should be a cell of at least {len(VGG19_LAYERS)} layer structs, got {size}")
    layers = []
    for i, (expected, value) in enumerate(zip(VGG19_LAYERS, cell.reshape(-1))):
        layer = _record(value, f"layer {i}")
        name, kind = _text(_field(layer, "name", f"layer {i}")), _text(_field(layer, "type", f"layer {i}"))
        if name != expected or kind != layer_kind(expected):
            raise _MismatchError(
                f"layer {i} is {name!r} of type {kind!r}, expected {expected!r} of type {layer_kind(expected)!r}"
            )
        layers.append(layer)
    return layers


def _conv_params(layers: list[np.void]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    params, c_in = {}, 3
    for name in CONV_LAYERS:
        layer = layers[VGG19_LAYERS.index(name)]
        pair = np.asarray(_field(layer, "weights", name)).reshape(-1)
        if pair.dtype != object or pair.size != 2:
            raise _MismatchError(f"{name}.weights should be a cell {{kernels, bias}}, got {pair.size} item(s)")
        kernels, bias = (np.asarray(a) for a in pair)
        if kernels.ndim != 4 or kernels.shape[:3] != (3, 3, c_in) or bias.size != kernels.shape[3]:
            raise _MismatchError(
                f"{name}: expected kernels of shape (3, 3, {c_in}, C) and C biases, "
                f"got kernels {kernels.shape} and bias {bias.shape}"
            )
        # the seed's reading: its axes 0 and 1 swapped (the file holds [H, W, in, out]; module docstring)
        kernel = np.ascontiguousarray(np.transpose(kernels, (1, 0, 2, 3)), dtype=np.float32)
        params[name] = (kernel, bias.reshape(-1).astype(np.float32))
        c_in = kernels.shape[3]
    return params
