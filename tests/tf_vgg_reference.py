"""The TensorFlow original (docs/REFERENCE.md), rebuilt for the tests from the same .mat: its positional paths, its
network (tf.nn.conv2d + bias_add, relu, max/avg pool), its losses with tf.nn.l2_loss and its loop with
tf.compat.v1.train.AdamOptimizer in a graph of its own (so the rest of the tests stay eager).

Loss formulas are the later original's (content blend over relu4_2/relu5_2, style layer weights),
which at default settings are the seed's (docs/REFERENCE.md section 2); style layer weights come normalised
to mean 1 as in vgg.style.losses (the later original's sum 1 goes with its default style weight of 5e2, not 1e2).
"""

from __future__ import annotations

import io
import re
from functools import reduce

import numpy as np
import scipy.io
from tf_reference import tf  # imported on first use; a test that needs it is skipped without it

from vgg import StyleConfig, stylize
from vgg.net.layers import VGG19_LAYERS
from vgg.style import pixels as images
from vgg.style.losses import CONTENT_LAYERS, STYLE_LAYERS

LOSS_LINES = re.compile(r"^ {2}content loss: \S+\n {4}style loss: \S+\n {7}tv loss: \S+\n {4}total loss: \S+$", re.M)


def load_net(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The later original's vgg.load_net (docs/REFERENCE.md section 1): the `layers` cell, the mean pixel."""
    data = scipy.io.loadmat(path)
    if "normalization" in data:
        mean_pixel = np.mean(data["normalization"][0][0][0], axis=(0, 1))
    else:
        mean_pixel = data["meta"]["normalization"][0][0][0][0][2][0][0]
    return data["layers"][0], mean_pixel


def conv_weights(weights: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(weights[i][0][0][0][0], np.ndarray):  # old layout
        kernels, bias = weights[i][0][0][0][0]
    else:  # new layout
        kernels, bias = weights[i][0][0][2][0]
    return np.transpose(kernels, (1, 0, 2, 3)), bias.reshape(-1)


def net(weights: np.ndarray, image, pooling: str = "max") -> dict:
    layers, current = {}, image
    for i, name in enumerate(VGG19_LAYERS):
        kind = name[:4]
        if kind == "conv":
            kernels, bias = (a.astype(current.dtype.as_numpy_dtype) for a in conv_weights(weights, i))
            current = tf.nn.bias_add(tf.nn.conv2d(current, tf.constant(kernels), (1, 1, 1, 1), "SAME"), bias)
        elif kind == "relu":
            current = tf.nn.relu(current)
        else:
            pool = tf.nn.avg_pool2d if pooling == "avg" else tf.nn.max_pool2d
            current = pool(current, ksize=(1, 2, 2, 1), strides=(1, 2, 2, 1), padding="SAME")
        layers[name] = current
    return layers


def targets(weights: np.ndarray, content_pre: np.ndarray, style_pres: list, pooling: str = "max") -> tuple:
    """Content features and style Gram matrices as numpy arrays (eager), as the original does."""
    content = {k: v.numpy() for k, v in net(weights, tf.constant(content_pre), pooling).items()}
    grams = []
    for style in style_pres:
        layers = net(weights, tf.constant(style), pooling)
        features = [np.reshape(layers[name].numpy(), (-1, layers[name].shape[3])) for name in STYLE_LAYERS]
        grams.append({n: np.matmul(f.T, f) / f.size for n, f in zip(STYLE_LAYERS, features)})
    return content, grams


def losses(layers: dict, image, content: dict, grams: list, s: dict) -> dict:
    """The four losses as TF tensors; ``s`` holds the settings (weights, blends)."""
    blend = {"relu4_2": s["content_weight_blend"], "relu5_2": 1.0 - s["content_weight_blend"]}
    content_terms = [
        blend[n] * s["content_weight"] * (2 * tf.nn.l2_loss(layers[n] - content[n]) / content[n].size)
        for n in CONTENT_LAYERS
        if blend[n] != 0
    ]
    raw = [s["style_layer_weight_exp"] ** k for k in range(len(STYLE_LAYERS))]
    layer_weight = {n: w * len(raw) / sum(raw) for n, w in zip(STYLE_LAYERS, raw)}
    style_loss = 0
    for blend_weight, style_grams in zip(s["style_blend_weights"], grams):
        terms = []
        for n in STYLE_LAYERS:
            _, height, width, number = layers[n].shape
            feats = tf.reshape(layers[n], (-1, number))
            gram = tf.matmul(tf.transpose(feats), feats) / (height * width * number)
            terms.append(layer_weight[n] * 2 * tf.nn.l2_loss(gram - style_grams[n]) / style_grams[n].size)
        style_loss += s["style_weight"] * blend_weight * reduce(tf.add, terms)
    shape = image.shape
    tv_y_size, tv_x_size = int(np.prod(image[:, 1:, :, :].shape)), int(np.prod(image[:, :, 1:, :].shape))
    tv_loss = (
        s["tv_weight"]
        * 2
        * (
            (tf.nn.l2_loss(image[:, 1:, :, :] - image[:, : shape[1] - 1, :, :]) / tv_y_size)
            + (tf.nn.l2_loss(image[:, :, 1:, :] - image[:, :, : shape[2] - 1, :]) / tv_x_size)
        )
    )
    content_loss = reduce(tf.add, content_terms)
    return {"content": content_loss, "style": style_loss, "tv": tv_loss, "total": content_loss + style_loss + tv_loss}


_LOSS_SETTINGS = ("content_weight", "content_weight_blend", "style_weight", "style_layer_weight_exp", "tv_weight")
DEFAULTS = {name: getattr(StyleConfig(), name) for name in (*_LOSS_SETTINGS, "pooling")}
ADAM_DEFAULTS = {name: getattr(StyleConfig(), name) for name in ("beta1", "beta2", "epsilon")}
ADAM_DEFAULTS["learning_rate"] = StyleConfig().lr()  # None in the config: each optimiser has its own default


def _settings(n_styles: int, overrides: dict) -> dict:
    s = {**DEFAULTS, "style_blend_weights": [1.0 / n_styles] * n_styles, **overrides}
    return s


def loss_and_grad(path: str, content_pre, style_pres: list, x0, **overrides) -> tuple[dict, np.ndarray]:
    """Loss values and d total / d image at x0 (all preprocessed (1, H, W, 3) float32), eagerly."""
    s = _settings(len(style_pres), overrides)
    weights, _ = load_net(path)
    content, grams = targets(weights, content_pre, style_pres, s["pooling"])
    image = tf.Variable(x0)
    with tf.GradientTape() as tape:
        values = losses(net(weights, image, s["pooling"]), image, content, grams, s)
    grad = tape.gradient(values["total"], image)
    return {k: float(v.numpy()) for k, v in values.items()}, grad.numpy()


def adam_run(path: str, content_pre, style_pres: list, x0, iterations: int, **overrides) -> dict:
    """The seed's loop (docs/REFERENCE.md section 3): losses before a step, the image after, the best at checkpoints."""
    adam = {k: overrides.pop(k, default) for k, default in ADAM_DEFAULTS.items()}
    checkpoint_iterations = overrides.pop("checkpoint_iterations", None)
    s = _settings(len(style_pres), overrides)
    weights, _ = load_net(path)
    content, grams = targets(weights, content_pre, style_pres, s["pooling"])
    with tf.Graph().as_default() as graph:
        image = tf.compat.v1.Variable(x0)
        store = losses(net(weights, image, s["pooling"]), image, content, grams, s)
        optimizer = tf.compat.v1.train.AdamOptimizer(**adam)
        train_step = optimizer.minimize(store["total"])
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return _loop(sess, image, store, train_step, iterations, checkpoint_iterations)


def _loop(sess, image, store, train_step, iterations: int, checkpoint_iterations) -> dict:
    out = {"losses": [], "images": [], "best": []}
    best_loss, best = float("inf"), None
    for i in range(iterations):
        out["losses"].append({k: float(v) for k, v in sess.run(store).items()})
        sess.run(train_step)
        out["images"].append(sess.run(image))
        last = i == iterations - 1
        if (checkpoint_iterations and i % checkpoint_iterations == 0) or last:
            this_loss = sess.run(store["total"])
            if this_loss < best_loss:
                best_loss, best = this_loss, sess.run(image)
            out["best"].append((None if last else i, best))
    return out


def printed_losses(text: str) -> list[dict[str, float]]:
    """Every group of the original's four loss lines in ``text``, as dicts of floats."""
    groups = []
    for block in LOSS_LINES.findall(text):
        values = [float(line.split(":")[1]) for line in block.splitlines()]
        groups.append(dict(zip(("content", "style", "tv", "total"), values)))
    return groups


def run_both(path: str, net, content, style, x0, iterations: int, **settings) -> tuple[list, list, dict]:
    """Our stylize loop and adam_run from the same start, a checkpoint and a print every iteration.

    Returns (our yields, our printed losses, adam_run's dict); x0 is preprocessed (1, H, W, 3).
    """
    init = images.unprocess(x0[0], net.mean_pixel)
    x0 = images.preprocess(init, net.mean_pixel)[None]  # what stylize will start from, to the bit
    stream = io.StringIO()
    run = stylize(
        net,
        content,
        [style],
        init,
        iterations=iterations,
        checkpoint_iterations=1,
        print_iterations=1,
        stream=stream,
        **settings,
    )
    ours = list(run)
    pre = [images.preprocess(a, net.mean_pixel)[None] for a in (content, style)]
    theirs = adam_run(path, pre[0], [pre[1]], x0, iterations, checkpoint_iterations=1, **settings)
    return ours, printed_losses(stream.getvalue()), theirs
