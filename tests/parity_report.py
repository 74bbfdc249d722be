"""Worst relative errors of our loss, gradient and Adam iterations against the TensorFlow reference.

    .venv/bin/python tests/parity_report.py [iterations] [networks]

Synthetic VGG-19 files (both layouts alternately, small channels), 16x20 content, 18x22 style, float32,
default settings. Loss values and images are compared relative to the reference's max |x|, the gradient
relative to its max |grad|. "Adam" runs start from the content image (as --initial content) and from
seeded noise (the default start), with a checkpoint at every iteration.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_vgg_reference as ref  # noqa: E402
from synthetic_vgg import sample_image, write_vgg19_mat  # noqa: E402

import minigrad as mg  # noqa: E402
from vgg import load_vgg19  # noqa: E402
from vgg.style import pixels  # noqa: E402
from vgg.style.config import StyleConfig  # noqa: E402
from vgg.style.run import initial_image, make_objective  # noqa: E402


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def loss_and_gradient(path, net, content, style, x0) -> tuple[float, float]:
    image = mg.Tensor(x0.copy(), requires_grad=True)
    ours = make_objective(net, content, [style], StyleConfig())(image)
    ours.total.backward()
    pre = [pixels.preprocess(a, net.mean_pixel)[None] for a in (content, style)]
    theirs, grad = ref.loss_and_grad(path, pre[0], [pre[1]], x0)
    return max(rel(v, theirs[k]) for k, v in ours.values().items()), rel(image.grad, grad)


def adam(path, net, content, style, x0, iterations) -> tuple[float, float]:
    ours, printed, theirs = ref.run_both(path, net, content, style, x0, iterations)
    worst_loss = max(rel(p["total"], t["total"]) for p, t in zip(printed, theirs["losses"]))  # %g: 6 digits
    pre = [pixels.preprocess(image, net.mean_pixel)[None] for _, image in ours]
    return worst_loss, max(rel(a, b) for a, (_, b) in zip(pre, theirs["best"]))


def main(iterations: int = 5, networks: int = 6) -> None:
    worst: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(networks):
            path = os.path.join(tmp, f"{seed}.mat")
            write_vgg19_mat(path, ("old", "new")[seed % 2], seed=seed)
            net = load_vgg19(path, check_release=False)
            content, style = sample_image(16, 20, seed), sample_image(18, 22, seed + 100)
            noise = initial_image(content, None, net.mean_pixel, StyleConfig(seed=seed))
            start = pixels.preprocess(content, net.mean_pixel)[None]
            loss, gradient = loss_and_gradient(path, net, content, style, noise)
            results = {"loss": loss, "gradient": gradient}
            for name, x0 in (("from content", start), ("from noise", noise)):
                loss, image = adam(path, net, content, style, x0, iterations)
                results[f"{iterations} Adam iterations {name}: printed losses"] = loss
                results[f"{iterations} Adam iterations {name}: images"] = image
            for key, value in results.items():
                worst[key] = max(worst.get(key, 0.0), value)
    print(f"{networks} synthetic networks, float32, TensorFlow {ref.tf.__version__}")
    for key, value in worst.items():
        print(f"  worst relative error, {key}: {value:.2e}")


if __name__ == "__main__":
    if importlib.util.find_spec("tensorflow") is None:
        sys.exit("parity_report.py: the reference is TensorFlow, which is not installed (pip install tensorflow-cpu)")
    main(*(int(a) for a in sys.argv[1:]))
