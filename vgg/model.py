"""VGG-19: the layer table and a forward pass that stops at the deepest layer asked for.

Layouts are TensorFlow's: images NHWC, kernels HWIO (KH, KW, C_in, C_out). Weights are
constant Tensors (requires_grad=False) on one backend; only the image may carry a gradient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import backend as mg_backend

# The 36 layers used, in the order (and at the index) of MatConvNet's `layers` cell.
VGG19_LAYERS: tuple[str, ...] = (
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4",
)  # fmt: skip
# The file goes on with these; they are ignored.
MATCONVNET_TAIL: tuple[str, ...] = ("pool5", "fc6", "relu6", "fc7", "relu7", "fc8", "prob")
CONV_LAYERS: tuple[str, ...] = tuple(n for n in VGG19_LAYERS if n.startswith("conv"))
# Output channels of each block of the real network (conv1_* .. conv5_*).
BLOCK_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 512)
# The mean pixel of the real file (RGB, 0..255), for networks built without one.
MEAN_PIXEL = np.array([123.68, 116.779, 103.939], dtype=np.float32)
POOLINGS = ("max", "avg")


def layer_kind(name: str) -> str:
    """'conv', 'relu' or 'pool' (MatConvNet's layer type) for a layer name."""
    return name[:4]


def conv_shapes(block_channels: Iterable[int] = BLOCK_CHANNELS) -> dict[str, tuple[int, int, int, int]]:
    """HWIO kernel shape of every conv layer for the given per-block channel counts."""
    channels = tuple(block_channels)
    shapes, c_in = {}, 3
    for name in CONV_LAYERS:
        c_out = channels[int(name[4]) - 1]
        shapes[name] = (3, 3, c_in, c_out)
        c_in = c_out
    return shapes


def check_pooling(pooling: str) -> str:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    return pooling


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

    def forward(self, image: mg.Tensor, wanted: Iterable[str]) -> dict[str, mg.Tensor]:
        """The outputs of the ``wanted`` layers for a preprocessed NHWC image; stops at the deepest."""
        wanted = set(wanted)
        unknown = sorted(wanted.difference(VGG19_LAYERS))
        if unknown:
            raise ValueError(f"VGG19: unknown layers {unknown}; the layers are {', '.join(VGG19_LAYERS)}")
        deepest = max((VGG19_LAYERS.index(n) for n in wanted), default=-1)
        outputs, x = {}, image
        for name in VGG19_LAYERS[: deepest + 1]:
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
