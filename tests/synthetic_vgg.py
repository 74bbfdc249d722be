"""A synthetic imagenet-vgg-verydeep-19.mat, in both layouts found in the wild, with small channels.

The files have the real 43 layers (names, types, field orders) and the nesting scipy.io.loadmat
gives the real files, so the later original's positional paths (docs/REFERENCE.md section 1) hold on them:
- old (MD5 8ee32639...): top-level `layers`, `classes`, `normalization`;
  mean = np.mean(data['normalization'][0][0][0], axis=(0, 1)) (a 224x224x3 average image);
  kernels, bias = data['layers'][0][i][0][0][0][0] (`weights` is the conv struct's first field).
- new (MD5 106118b7...): top-level `layers`, `meta`;
  mean = data['meta']['normalization'][0][0][0][0][2][0][0] (a 1x1x3 averageImage, third field);
  kernels, bias = data['layers'][0][i][0][0][2][0] (`weights` is the third field).
Kernels are stored as the seed reads them: the array the network gets (HWIO, ``random_weights``) with its
two spatial axes swapped (MatConvNet's converter wrote [H, W, in, out]; the seed transposes it anyway:
docs/REFERENCE.md section 1); biases as a row (old) or a column (new). The same weights in Keras's .h5 and
Caffe's .caffemodel: tests/synthetic_keras.py and tests/synthetic_caffe.py.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.io

from vgg.net.layers import CONV_LAYERS, MEAN_PIXEL, VGG19_LAYERS, conv_shapes, layer_kind
from vgg.net.matconvnet import MATCONVNET_TAIL

SMALL_CHANNELS = (4, 6, 8, 8, 8)
FC_CHANNELS = 16
CLASSES = 10


def struct(**fields: Any) -> np.ndarray:
    """A 1x1 MATLAB struct with fields in the given order."""
    record = np.empty((1, 1), dtype=[(name, object) for name in fields])
    for name, value in fields.items():
        record[0, 0][name] = value
    return record


def cell(*items: Any) -> np.ndarray:
    """A 1xN MATLAB cell array."""
    array = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        array[0, i] = item
    return array


def row(*values: float) -> np.ndarray:
    return np.array([values], dtype=np.float64)


def random_weights(
    channels=SMALL_CHANNELS, seed: int = 0, fc: tuple[int, int] = (FC_CHANNELS, CLASSES)
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """He-initialised HWIO float32 kernels and flat biases for every layer with weights (conv and fc; ``fc`` is
    fc6's and fc7's outputs and the classes: (4096, 1000) in the real network)."""
    rng = np.random.default_rng(seed)
    shapes = dict(conv_shapes(channels))
    hidden, classes = fc
    shapes.update(fc6=(7, 7, channels[-1], hidden), fc7=(1, 1, hidden, hidden), fc8=(1, 1, hidden, classes))
    weights = {}
    for name, shape in shapes.items():
        kernel = rng.standard_normal(shape) * np.sqrt(2.0 / (shape[0] * shape[1] * shape[2]))
        weights[name] = (kernel.astype(np.float32), rng.uniform(0.0, 0.1, shape[3]).astype(np.float32))
    return weights


def _kind(name: str) -> str:
    return {"fc": "conv", "pr": "softmax"}.get(name[:2], layer_kind(name))


def _pad(kernel: np.ndarray) -> np.ndarray:
    return row(1, 1, 1, 1) if kernel.shape[0] == 3 else row(0, 0, 0, 0)


def mat_kernel(kernel: np.ndarray) -> np.ndarray:
    """The .mat's array for the kernel the network gets: the seed transposes the .mat's first two axes."""
    return np.transpose(kernel, (1, 0, 2, 3))


def _old_layer(name: str, weights: dict) -> np.ndarray:
    kind = _kind(name)
    if kind == "conv":
        kernel, bias = weights[name]
        wh = mat_kernel(kernel)
        return struct(weights=cell(wh, bias[None, :]), pad=_pad(kernel), type=kind, name=name, stride=row(1, 1))
    if kind == "pool":
        return struct(name=name, stride=row(2, 2), pad=row(0, 0, 0, 0), type=kind, method="max", pool=row(2, 2))
    return struct(type=kind, name=name)


def _new_layer(name: str, weights: dict) -> np.ndarray:
    kind = _kind(name)
    common = {"precious": row(0), "opts": cell()}
    if kind == "conv":
        kernel, bias = weights[name]
        wh = mat_kernel(kernel)
        return struct(
            name=name,
            type=kind,
            weights=cell(wh, bias[:, None]),
            size=row(*wh.shape),
            pad=_pad(kernel),
            stride=row(1, 1),
            dilate=row(1, 1),
            **common,
        )
    if kind == "pool":
        return struct(
            name=name,
            type=kind,
            weights=cell(),
            method="max",
            pool=row(2, 2),
            stride=row(2, 2),
            pad=row(0, 1, 0, 1),
            **common,
        )
    if kind == "relu":
        return struct(name=name, type=kind, weights=cell(), leak=row(0), **common)
    return struct(name=name, type=kind, weights=cell(), **common)


def _average_image(layout: str, seed: int, published_mean: bool = False) -> np.ndarray:
    """The normalization's averageImage: about the published mean pixel, or (``published_mean``) exactly it, the
    mean the Keras and Caffe readers give (those files hold none)."""
    if published_mean:
        shape = (1, 1, 3) if layout == "new" else (224, 224, 3)
        return np.broadcast_to(MEAN_PIXEL, shape).astype(np.float32)
    rng = np.random.default_rng(seed + 1)
    if layout == "new":
        return (MEAN_PIXEL + rng.uniform(-2, 2, 3)).astype(np.float32).reshape(1, 1, 3)
    return (MEAN_PIXEL + rng.uniform(-20, 20, (224, 224, 3))).astype(np.float32)


def _classes() -> np.ndarray:
    names = cell(*[f"n{i:08d}" for i in range(CLASSES)])
    return struct(name=names, description=cell(*[f"class {i}" for i in range(CLASSES)]))


def vgg19_mat_dict(
    layout: str = "new",
    channels=SMALL_CHANNELS,
    seed: int = 0,
    nan_layer: str | None = None,
    published_mean: bool = False,
    weights: dict | None = None,
) -> tuple[dict, dict]:
    """(variables for scipy.io.savemat, the HWIO weights written); ``nan_layer`` gets one NaN weight; ``weights``
    (random_weights') instead of drawing them."""
    weights = random_weights(channels, seed) if weights is None else weights
    if nan_layer is not None:
        weights[nan_layer][0][0, 0, 0, 0] = np.nan
    names = VGG19_LAYERS + MATCONVNET_TAIL
    average = _average_image(layout, seed, published_mean)
    if layout == "old":
        normalization = struct(
            averageImage=average,
            keepAspect=row(1),
            border=row(0, 0),
            imageSize=row(224, 224, 3),
            interpolation="bilinear",
        )
        layers = cell(*[_old_layer(n, weights) for n in names])
        return {"layers": layers, "classes": _classes(), "normalization": normalization}, weights
    if layout != "new":
        raise ValueError(f"layout must be 'old' or 'new', got {layout!r}")
    normalization = struct(
        imageSize=row(224, 224, 3), border=row(0, 0), averageImage=average, keepAspect=row(1), interpolation="bilinear"
    )
    meta = struct(inputs=cell(), classes=_classes(), normalization=normalization)
    return {"layers": cell(*[_new_layer(n, weights) for n in names]), "meta": meta}, weights


def write_vgg19_mat(
    path: str | os.PathLike,
    layout: str = "new",
    channels=SMALL_CHANNELS,
    seed: int = 0,
    nan_layer: str | None = None,
    published_mean: bool = False,
    weights: dict | None = None,
) -> dict[str, Any]:
    """Write the file; returns what a correct reader must find: HWIO conv params and the mean pixel."""
    variables, weights = vgg19_mat_dict(layout, channels, seed, nan_layer, published_mean, weights)
    scipy.io.savemat(os.fspath(path), variables)
    average = _average_image(layout, seed, published_mean)
    return {
        "params": {name: weights[name] for name in CONV_LAYERS},
        "mean_pixel": np.mean(average, axis=(0, 1), dtype=np.float64),
        "layout": layout,
    }


def sample_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, colourful (H, W, 3) float32 image in 0..255 with a little noise (integer values)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    phase = rng.uniform(0, 2 * np.pi, 3)
    base = 128 + 90 * np.sin(x[..., None] * 0.5 + y[..., None] * 0.3 + phase)
    return np.clip(np.round(base + rng.normal(0, 20, (h, w, 3))), 0, 255).astype(np.float32)
