"""VGG-19: the weights as constants on one backend, and a forward pass that stops at the deepest layer asked for.

Layouts are TensorFlow's (vgg.net.layers): images NHWC, kernels HWIO. Weights are constant Tensors
(requires_grad=False); only the image may carry a gradient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import backend as mg_backend

from .layers import BLOCK_CHANNELS, CONV_LAYERS, MEAN_PIXEL, VGG19_LAYERS, check_pooling, conv_shapes, layer_kind


class VGG19:
    """VGG-19's first 36 layers with fixed weights.

    ``params`` maps each conv layer name to (kernel HWIO, bias); ``mean_pixel`` is the RGB mean
    the network was trained with. ``pooling`` is 'max' (the original's) or 'avg' (docs/REFERENCE.md section 1).
    """

    def __init__(
        self,
        params: Mapping[str, tuple[Any, Any]],
        mean_pixel: Any = MEAN_PIXEL,
        pooling: str = "max",
        backend: str = "numpy",
        dtype: Any = np.float32,
    ) -> None:
        self.pooling, self.backend, self.dtype = check_pooling(pooling), backend, np.dtype(dtype)
        self.xp = mg_backend.array_module(backend)
        self.mean_pixel = np.asarray(mean_pixel, dtype=self.dtype).reshape(3)
        self.params = {name: self._constants(name, params) for name in CONV_LAYERS}

    def _constants(self, name: str, params: Mapping[str, tuple[Any, Any]]) -> tuple[mg.Tensor, mg.Tensor]:
        if name not in params:
            raise ValueError(f"VGG19: no weights for layer {name}")
        kernel, bias = (p.data if isinstance(p, mg.Tensor) else p for p in params[name])
        if np.ndim(kernel) != 4 or tuple(kernel.shape[:2]) != (3, 3) or np.size(bias) != kernel.shape[3]:
            raise ValueError(
                f"VGG19: layer {name} expects a 3x3 HWIO kernel and one bias per output channel, "
                f"got kernel {np.shape(kernel)} and bias {np.shape(bias)}"
            )
        return self._constant(kernel), self._constant(bias if np.ndim(bias) == 1 else bias.reshape(-1))

    def _constant(self, array: Any) -> mg.Tensor:
        """The array itself when it is already a contiguous one of this backend and dtype, else a copy."""
        same = mg_backend.is_array(array) and mg_backend.get_array_module(array) is self.xp
        if same and array.dtype == self.dtype and array.flags.c_contiguous:
            return mg.Tensor(array)
        host = np.ascontiguousarray(mg_backend.to_numpy(array), dtype=self.dtype)
        return mg.Tensor(self.xp.asarray(host))

    @property
    def channels(self) -> dict[str, int]:
        """Output channels of every conv layer."""
        return {name: w.shape[3] for name, (w, _) in self.params.items()}

    def replace(self, pooling: str | None = None, backend: str | None = None) -> VGG19:
        """The same weights with another pooling or on another backend.

        The weight arrays are shared, not copied, when backend and dtype stay the same; otherwise copied.
        """
        return VGG19(self.params, self.mean_pixel, pooling or self.pooling, backend or self.backend, self.dtype)

    def forward(self, image: mg.Tensor, wanted: Iterable[str], after: str | None = None) -> dict[str, mg.Tensor]:
        """The outputs of the ``wanted`` layers for a preprocessed NHWC image; stops at the deepest. With ``after``,
        ``image`` is that layer's output (a plan's split, vgg.net.tiles) and the layers after it run."""
        wanted = set(wanted)
        unknown = sorted(wanted.difference(VGG19_LAYERS))
        if unknown:
            raise ValueError(f"VGG19: unknown layers {unknown}; the layers are {', '.join(VGG19_LAYERS)}")
        first = 0 if after is None else VGG19_LAYERS.index(after) + 1
        early = sorted(n for n in wanted if VGG19_LAYERS.index(n) < first)
        if early:
            raise ValueError(f"VGG19: {early} come before {after}, where this forward pass starts")
        deepest = max((VGG19_LAYERS.index(n) for n in wanted), default=-1)
        outputs, x = {}, image
        for name in VGG19_LAYERS[first : deepest + 1]:
            x = self._layer(name, x)
            if name in wanted:
                outputs[name] = x
        return outputs

    def _layer(self, name: str, x: mg.Tensor) -> mg.Tensor:
        kind = layer_kind(name)
        if kind == "conv":
            kernel, bias = self.params[name]
            return mg.conv2d(x, kernel, stride=1, padding="SAME", bias=bias)  # bias added inside the GEMM
        if kind == "relu":
            return mg.relu(x)
        pool = mg.max_pool if self.pooling == "max" else mg.avg_pool
        return pool(x, size=2, stride=2, padding="SAME")


def random_params(
    seed: int = 0, dtype: Any = np.float32, channel_scale: float = 1.0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """He-initialised conv weights with VGG-19's shapes (channel counts times ``channel_scale``)."""
    rng = np.random.default_rng(seed)
    channels = [max(1, round(c * channel_scale)) for c in BLOCK_CHANNELS]
    params = {}
    for name, shape in conv_shapes(channels).items():
        fan_in = shape[0] * shape[1] * shape[2]
        kernel = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        bias = rng.uniform(0.0, 0.1, size=shape[3])
        params[name] = (kernel.astype(dtype), bias.astype(dtype))
    return params


def random_vgg19(
    seed: int = 0,
    dtype: Any = np.float32,
    backend: str = "numpy",
    channel_scale: float = 1.0,
    pooling: str = "max",
) -> VGG19:
    """A VGG-19 with random weights (real shapes, or channels scaled down), for benchmarks and tests."""
    return VGG19(random_params(seed, dtype, channel_scale), MEAN_PIXEL, pooling, backend, dtype)
