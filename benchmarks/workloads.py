"""One style-transfer iteration, the same work in minigrad, PyTorch and TensorFlow.

The work: VGG-19 forward to relu5_1 on a 1 x H x W x 3 float32 image, the seed's content
(relu4_2) + style (relu1_1..relu5_1 Gram matrices) + total-variation losses (docs/REFERENCE.md section 2) at the default
weights, backward to the image, one Adam step. The weights and Adam's settings are the loop's
defaults, ``vgg.StyleConfig()``, for every framework. The VGG weights are random with
VGG-19's real shapes (the same arrays for every framework), so no download is needed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vgg.net.layers import MEAN_PIXEL, VGG19_LAYERS
from vgg.net.model import random_params
from vgg.style.config import NOISE_STD, StyleConfig
from vgg.style.losses import STYLE_LAYERS, content_layer_weights, style_layer_weights
from vgg.style.timing import DEEPEST, iteration_flops

DEFAULTS = StyleConfig()  # the one source of the weights and Adam's settings
CONTENT_LAYERS = content_layer_weights(DEFAULTS.content_weight_blend)  # {"relu4_2": 1.0}
LAYER_WEIGHTS = style_layer_weights(DEFAULTS.style_layer_weight_exp)
LEARNING_RATE = DEFAULTS.lr()  # Adam's: the loop's default optimiser, checked below
NAMES = VGG19_LAYERS[: VGG19_LAYERS.index(DEEPEST) + 1]
# the PyTorch and TensorFlow steps below are Adam on VGG-19 with max pooling up to relu5_1
_FITS = DEFAULTS.optimizer == "adam" and DEFAULTS.pooling == "max"
if not _FITS or not set(CONTENT_LAYERS) | set(STYLE_LAYERS) <= set(NAMES):
    raise RuntimeError("benchmarks.workloads: the loop's defaults no longer fit the peers' VGG-19 up to relu5_1")


def images(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Preprocessed content and style images and the initial noise, (1, size, size, 3) float32."""
    rng = np.random.default_rng(seed)
    content = rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32) - MEAN_PIXEL
    style = rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32) - MEAN_PIXEL
    noise = (rng.standard_normal((1, size, size, 3)) * NOISE_STD).astype(np.float32)
    return content, style, noise


def flops(size: int) -> float:
    """Multiply-adds x2 of the convolutions (forward + input gradient) and the Gram matrices."""
    return float(iteration_flops((size, size)))


def minigrad_setup(size: int, backend: str = "numpy") -> tuple:
    """(objective, image, adam): the same Objective and Adam the stylize loop uses, at the defaults."""
    import minigrad as mg
    from vgg.net.model import VGG19
    from vgg.style.losses import Objective

    c = DEFAULTS
    net = VGG19(random_params(0), MEAN_PIXEL, c.pooling, backend)
    content, style, noise = images(size)
    objective = Objective(net, content, [style], [1.0], c.content_weight, c.content_weight_blend,
                          c.style_weight, c.style_layer_weight_exp, c.tv_weight)  # fmt: skip
    image = mg.Tensor(net.xp.asarray(noise), requires_grad=True)
    adam = mg.optim.Adam([image], LEARNING_RATE, c.beta1, c.beta2, c.epsilon)
    return objective, image, adam


def minigrad_step(size: int, backend: str = "numpy") -> Callable[[], None]:
    """Our iteration: forward, the losses, backward, one Adam step (synchronised on a GPU)."""
    import minigrad as mg

    objective, image, adam = minigrad_setup(size, backend)

    def step() -> None:
        adam.zero_grad()
        objective(image).total.backward()
        adam.step()
        mg.backend.synchronize(image.data)

    return step


def _torch_net(torch, device: str):
    layers, params = [], random_params(0)
    for name in VGG19_LAYERS[: VGG19_LAYERS.index(DEEPEST) + 1]:
        if name.startswith("conv"):
            kernel, bias = params[name]
            conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1)
            conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
            conv.bias.data = torch.from_numpy(bias)
            layers.append(conv)
        elif name.startswith("relu"):
            layers.append(torch.nn.ReLU())
        else:
            layers.append(torch.nn.MaxPool2d(2, 2, ceil_mode=True))
    net = torch.nn.Sequential(*layers).to(device=device, memory_format=torch.channels_last)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _torch_features(net, x) -> dict:
    out = {}
    for name, layer in zip(NAMES, net):
        x = layer(x)
        out[name] = x
    return out


def _torch_gram(f):
    _, c, h, w = f.shape
    flat = f.permute(0, 2, 3, 1).reshape(h * w, c)
    return flat.t() @ flat / (h * w * c)


def _torch_loss(torch, f: dict, x, targets: dict, grams: dict):
    c = DEFAULTS
    content = sum(w * c.content_weight * torch.sum((f[n] - targets[n]) ** 2) / targets[n].numel()
                  for n, w in CONTENT_LAYERS.items())  # fmt: skip
    style = sum(LAYER_WEIGHTS[n] * c.style_weight * torch.sum((_torch_gram(f[n]) - g) ** 2) / g.numel()
                for n, g in grams.items())  # fmt: skip
    dy, dx = x[:, :, 1:] - x[:, :, :-1], x[:, :, :, 1:] - x[:, :, :, :-1]
    return content + style + c.tv_weight * (torch.sum(dy**2) / dy.numel() + torch.sum(dx**2) / dx.numel())


def torch_step(size: int, device: str = "cpu") -> Callable[[], None]:
    """The same iteration in PyTorch, channels-last (its fastest CPU layout)."""
    import torch

    net = _torch_net(torch, device)

    def to_torch(a):
        t = torch.from_numpy(a.transpose(0, 3, 1, 2).copy()).to(device)
        return t.contiguous(memory_format=torch.channels_last)

    content, style, noise = (to_torch(a) for a in images(size))
    with torch.no_grad():
        targets = {n: f for n, f in _torch_features(net, content).items() if n in CONTENT_LAYERS}
        grams = {n: _torch_gram(f) for n, f in _torch_features(net, style).items() if n in STYLE_LAYERS}
    image = noise.clone().requires_grad_(True)
    c = DEFAULTS
    adam = torch.optim.Adam([image], lr=LEARNING_RATE, betas=(c.beta1, c.beta2), eps=c.epsilon)

    def step() -> None:
        adam.zero_grad(set_to_none=True)
        _torch_loss(torch, _torch_features(net, image), image, targets, grams).backward()
        adam.step()
        if device == "cuda":
            torch.cuda.synchronize()

    return step


def _tf_features(tf, params: dict, x) -> dict:
    out = {}
    for name in NAMES:
        if name.startswith("conv"):
            x = tf.nn.bias_add(tf.nn.conv2d(x, params[name][0], 1, "SAME"), params[name][1])
        elif name.startswith("relu"):
            x = tf.nn.relu(x)
        else:
            x = tf.nn.max_pool2d(x, 2, 2, "SAME")
        out[name] = x
    return out


def _tf_gram(tf, f):
    _, h, w, c = f.shape
    flat = tf.reshape(f, (h * w, c))
    return tf.matmul(flat, flat, transpose_a=True) / (h * w * c)


def _tf_loss(tf, f: dict, x, targets: dict, grams: dict):
    def mean_square(d):
        return 2 * tf.nn.l2_loss(d) / float(np.prod(d.shape))

    c = DEFAULTS
    loss = sum(w * c.content_weight * mean_square(f[n] - targets[n]) for n, w in CONTENT_LAYERS.items())
    for n, g in grams.items():
        loss += LAYER_WEIGHTS[n] * c.style_weight * mean_square(_tf_gram(tf, f[n]) - g)
    dy, dx = x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]
    return loss + c.tv_weight * (mean_square(dy) + mean_square(dx))


def tf_step(size: int) -> Callable[[], None]:
    """The same iteration in TensorFlow, as one tf.function."""
    import tensorflow as tf

    params = {n: (tf.constant(k), tf.constant(b)) for n, (k, b) in random_params(0).items()}
    content, style, noise = images(size)
    targets = {n: v for n, v in _tf_features(tf, params, tf.constant(content)).items() if n in CONTENT_LAYERS}
    grams = {n: _tf_gram(tf, v) for n, v in _tf_features(tf, params, tf.constant(style)).items() if n in STYLE_LAYERS}
    image = tf.Variable(noise)
    c = DEFAULTS
    adam = tf.keras.optimizers.Adam(LEARNING_RATE, beta_1=c.beta1, beta_2=c.beta2, epsilon=c.epsilon)

    @tf.function
    def train() -> None:
        with tf.GradientTape() as tape:
            loss = _tf_loss(tf, _tf_features(tf, params, image), image, targets, grams)
        adam.apply_gradients([(tape.gradient(loss, image), image)])

    return train
