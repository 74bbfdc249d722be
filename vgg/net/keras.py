"""Keras's vgg19_weights_tf_dim_ordering_tf_kernels(_notop).h5: an HDF5 file of weights, read with h5py.

Keras 1 and 2 write weights the same way (keras/engine/topology.py ``save_weights_to_hdf5_group``, 1.2.2;
keras/engine/saving.py, 2.2.4): the root's attribute ``layer_names`` lists the layers, each a group
whose attribute ``weight_names`` lists its datasets, kernel first. The names differ (Keras 1 with
TensorFlow: ``block1_conv1_W_1:0``; Keras 2: ``block1_conv1/kernel:0``, a nested path), so they are
followed, never spelt here. Keras 2 splits long attribute lists into ``layer_names0``, ``layer_names1``,
...; a whole saved model keeps them under ``model_weights``. Only the conv layers' datasets are read:
the fully connected ones of the file with the top stay on disk.

Kernels are (height, width, in, out) for BGR input, Caffe's values (keras-team's ported weights); the
network here gets the seed's reading of the .mat: the two spatial axes swapped and conv1_1's input
channels reversed to RGB (docs/REFERENCE.md section 1). The file holds no mean pixel: the one the model
was published with is used.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import NetworkFileError
from .layers import CONV_LAYERS, MEAN_PIXEL
from .weights import VGG16_ABSENT, NetworkWeights, check_finite, vgg16_missing

EXPECTED = "Keras's vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
SIGNATURE = b"\x89HDF\r\n\x1a\n"
# The superblock is at 0, or after a user block of 512 * 2**k bytes (a MATLAB 7.3 .mat has one of 512)
SIGNATURE_OFFSETS = (0, 512, 1024, 2048)
TOP = ("flatten", "fc1", "fc2", "predictions")  # Keras's layers of VGG's top


class _MismatchError(Exception):
    """A readable HDF5 file, but not Keras's VGG-19 weights (message says what it is)."""


def keras_name(name: str) -> str:
    """Keras's name of a conv layer: conv3_4 -> block3_conv4."""
    block, conv = name[4:].split("_")
    return f"block{block}_conv{conv}"


def is_hdf5(head: bytes) -> bool:
    """Whether a file starting with ``head`` is HDF5 (or the start of one cut short)."""
    if 0 < len(head) < len(SIGNATURE):
        return SIGNATURE.startswith(head)
    return any(head[at : at + len(SIGNATURE)] == SIGNATURE for at in SIGNATURE_OFFSETS)


def read_vgg19_h5(path: str | os.PathLike) -> NetworkWeights:
    """Read the conv layers; NetworkFileError (one line) when the file is not Keras's VGG-19 weights."""
    name = os.fspath(path)
    h5py = _h5py(name)
    try:
        with h5py.File(name, "r") as f:
            root = _weights_root(f)
            params = _conv_params(root, _layer_names(root))
    except _MismatchError as exc:
        raise NetworkFileError(f"{name}: {exc}; expected {EXPECTED}") from None
    except OSError as exc:  # h5py's errors, a truncated file among them
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        what = "a truncated HDF5 file" if "truncated" in reason else "an HDF5 file that h5py cannot read"
        raise NetworkFileError(f"{name}: {what} ({reason}); expected {EXPECTED}") from None
    mean_pixel = MEAN_PIXEL.copy()
    check_finite(name, params, mean_pixel, "the published mean pixel")
    return NetworkWeights(params, mean_pixel, "Keras .h5", "keras")


def _h5py(name: str) -> Any:
    try:
        import h5py
    except ImportError:
        raise NetworkFileError(f"{name}: an HDF5 file; reading Keras's .h5 needs h5py: pip install h5py") from None
    return h5py


def _strings(attrs: Any, key: str) -> list[str] | None:
    """A list-of-names attribute, also as Keras 2 splits a long one (key0, key1, ...); None when absent."""
    if key in attrs:
        chunks = [attrs[key]]
    elif f"{key}0" in attrs:
        chunks = [attrs[f"{key}{i}"] for i in range(len(attrs)) if f"{key}{i}" in attrs]
    else:
        return None
    values = [v for chunk in chunks for v in np.asarray(chunk).reshape(-1)]
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _weights_root(f: Any) -> Any:
    """The group holding the layers: the file, or a whole saved model's model_weights."""
    if _strings(f.attrs, "layer_names") is not None:
        return f
    inner = f.get("model_weights")
    if inner is not None and _strings(inner.attrs, "layer_names") is not None:
        return inner
    entries = ", ".join(list(f.keys())[:8]) or "none"
    raise _MismatchError(f"an HDF5 file, but not Keras weights: no 'layer_names' attribute (top level: {entries})")


def _layer_names(root: Any) -> list[str]:
    """The file's layers, once it is sure all of VGG-19's conv layers are there."""
    names = _strings(root.attrs, "layer_names") or []
    missing = [n for n in CONV_LAYERS if keras_name(n) not in names]
    if not missing:
        return names
    if vgg16_missing(missing):
        absent = ", ".join(keras_name(n) for n in VGG16_ABSENT)
        raise _MismatchError(f"a Keras VGG-16 .h5 (13 conv layers: no {absent}), not VGG-19")
    if len(missing) == len(CONV_LAYERS) and any(n in TOP for n in names):
        raise _MismatchError(f"only VGG's top ({', '.join(n for n in names if n in TOP)}), no convolutional layers")
    listed = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    raise _MismatchError(
        f"Keras weights of another network: no layer {keras_name(missing[0])} "
        f"({len(CONV_LAYERS) - len(missing)} of VGG-19's {len(CONV_LAYERS)} conv layers; "
        f"layers: {listed or 'none'})"
    )


def _conv_params(root: Any, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    backend = root.attrs.get("backend", "")
    if (backend.decode("utf-8", "replace") if isinstance(backend, bytes) else str(backend)) == "theano":
        raise _MismatchError("saved by Keras's Theano backend, whose kernels are flipped for convolution")
    params, c_in = {}, 3
    for name in CONV_LAYERS:
        kernel, bias = _datasets(root, keras_name(name))
        if kernel.shape[2:] == (3, 3) and kernel.shape[:2] != (3, 3):
            raise _MismatchError(
                f"{keras_name(name)}: kernels in Theano's layout {kernel.shape} (a th_dim_ordering "
                "file); the tf_dim_ordering_tf_kernels file is read"
            )
        if kernel.ndim != 4 or kernel.shape[:3] != (3, 3, c_in) or bias.shape != kernel.shape[3:]:
            raise _MismatchError(
                f"{keras_name(name)}: expected a kernel of shape (3, 3, {c_in}, C) and C biases, "
                f"got kernel {kernel.shape} and bias {bias.shape}"
            )
        hwio = kernel.transpose(1, 0, 2, 3)  # the seed's reading: H and W swapped, as it swaps the .mat's
        if name == CONV_LAYERS[0]:
            hwio = hwio[:, :, ::-1, :]  # BGR -> RGB
        params[name] = (np.ascontiguousarray(hwio, dtype=np.float32), bias.astype(np.float32))
        c_in = kernel.shape[3]
    return params


def _datasets(root: Any, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """The kernel and bias of a layer, by its group's weight_names."""
    group = root.get(layer)
    if group is None:
        raise _MismatchError(f"'layer_names' lists {layer}, but there is no group {layer}")
    weights = _strings(group.attrs, "weight_names") or []
    if len(weights) != 2:
        raise _MismatchError(f"{layer} has {len(weights)} weights ({', '.join(weights)}), expected kernel and bias")
    arrays = []
    for weight in weights:
        dataset = group.get(weight)
        if dataset is None or not hasattr(dataset, "shape"):
            raise _MismatchError(f"{layer}'s weight_names lists {weight}, but there is no such dataset")
        arrays.append(np.asarray(dataset[()]))
    return arrays[0], arrays[1]
