"""A synthetic vgg19_weights_tf_dim_ordering_tf_kernels(_notop).h5, as Keras 1 and Keras 2 write weights.

Keras 1.2.2 (keras/engine/topology.py ``save_weights_to_hdf5_group``, TensorFlow backend, the release's
writer): the root's ``layer_names`` (every layer, the input and the pools too), one group per layer with
``weight_names`` (``block1_conv1_W_1:0``, ``block1_conv1_b_1:0``; an empty list for a layer without
weights) and one dataset per name; no ``backend`` or ``keras_version``. Keras 2 (keras/engine/saving.py
2.2.4): ``backend`` and ``keras_version`` too, and names ``block1_conv1/kernel:0``, which h5py stores as a
nested group; a long attribute is split into ``layer_names0``, ``layer_names1``, ...
(``save_attributes_to_hdf5_group``), and ``model.save`` puts all of it in a ``model_weights`` group.
Kernels are HWIO for BGR input, Caffe's values: ``keras_kernel`` says how they follow from the .mat the
same weights are written to (tests/synthetic_vgg.py).
"""

from __future__ import annotations

import os

import h5py
import numpy as np
from synthetic_vgg import mat_kernel

from vgg.net.layers import CONV_LAYERS

TOP = ("flatten", "fc1", "fc2", "predictions")


def keras_kernel(kernel: np.ndarray, first: bool) -> np.ndarray:
    """Keras's array for the kernel the network gets: Caffe's blob.transpose(2, 3, 1, 0), which is the .mat's
    array (MatConvNet's converter: [H, W, in, out]) with conv1_1's channels back in BGR order."""
    stored = mat_kernel(kernel)
    return stored[:, :, ::-1, :] if first else stored


def _layers(conv_names: tuple[str, ...], top: bool) -> list[str]:
    names = ["input_1"]
    for block in range(1, 6):
        names += [f"block{block}_conv{c[6]}" for c in conv_names if c[4] == str(block)]
        names.append(f"block{block}_pool")
    return names + list(TOP if top else ())


def _keras_weights(weights: dict, conv_names: tuple[str, ...]) -> dict[str, list[np.ndarray]]:
    """{Keras layer: [kernel, bias]} for the conv layers and the top."""
    out = {}
    for name in conv_names:
        kernel, bias = weights[name]
        out[f"block{name[4]}_conv{name[6]}"] = [keras_kernel(kernel, name == CONV_LAYERS[0]), bias]
    for fc, caffe in zip(TOP[1:], ("fc6", "fc7", "fc8")):
        kernel, bias = weights[caffe]
        out[fc] = [kernel.reshape(-1, kernel.shape[3]), bias]  # Dense: (inputs, outputs)
    return out


def write_vgg19_h5(
    path: str | os.PathLike,
    weights: dict,
    keras: int = 1,
    top: bool = False,
    conv_names: tuple[str, ...] = CONV_LAYERS,
    split: bool = False,
    whole_model: bool = False,
) -> None:
    """The file Keras ``keras`` (1 or 2) writes for VGG-19 with ``weights`` (synthetic_vgg.random_weights);
    ``top``: with the fully connected layers; ``conv_names``: fewer conv layers (VGG-16: no conv3_4, ...);
    ``split``: layer_names in two chunks, as Keras 2 splits a long one; ``whole_model``: as model.save."""
    arrays = _keras_weights(weights, conv_names)
    names = _layers(conv_names, top)
    with h5py.File(os.fspath(path), "w") as file:
        f = file.create_group("model_weights") if whole_model else file
        if keras == 2:
            f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.2.4"
        encoded = [n.encode() for n in names]
        if split:
            f.attrs["layer_names0"], f.attrs["layer_names1"] = encoded[:20], encoded[20:]
        else:  # Keras 1 under h5py 2: fixed-length strings
            f.attrs["layer_names"] = np.array(encoded, dtype="S") if keras == 1 else encoded
        for layer in names:
            group = f.create_group(layer)
            values = arrays.get(layer, [])
            suffixes = ("_W_1:0", "_b_1:0") if keras == 1 else ("/kernel:0", "/bias:0")
            weight_names = [f"{layer}{suffix}".encode() for suffix in suffixes[: len(values)]]
            fixed = keras == 1 and weight_names  # Keras 1 under h5py 2: fixed-length strings ([] stays a list)
            group.attrs["weight_names"] = np.array(weight_names, dtype="S") if fixed else weight_names
            for name, value in zip(weight_names, values):
                group.create_dataset(name.decode(), data=np.asarray(value, dtype=np.float32))
