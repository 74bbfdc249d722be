"""The seed's losses (docs/REFERENCE.md section 2), summed in the original's order so that float32 values
round alike (within 1e-4 of TensorFlow in the tests: section 8): content on relu4_2, Gram-matrix style on
relu1_1..relu5_1, total variation on the image; l2_loss(t) = sum(t**2) / 2 as tf.nn.l2_loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

import minigrad as mg
from minigrad.backend import to_numpy

from ..net.model import VGG19
from .config import StyleConfig

CONTENT_LAYERS = ("relu4_2", "relu5_2")
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


# The loss terms, in the original's printing order: every report (the printed lines, the loss file, the
# plot, the run log) reads its names from here, or from the losses an evaluation read back: a run with extra
# terms (Objective's ``extra``: a video's temporal loss) has them after tv, before the total.
TERMS = ("content", "style", "tv", "total")
DEFAULTS = StyleConfig()  # the default weights exist there, once


class Losses(NamedTuple):
    """The scalar Tensors of one evaluation: the seed's four, the style loss of each layer (summed over styles),
    and any extra terms (in the total)."""

    content: mg.Tensor
    style: mg.Tensor
    tv: mg.Tensor
    total: mg.Tensor
    style_layers: Mapping[str, mg.Tensor] | None = None
    extra: Mapping[str, mg.Tensor] | None = None

    def values(self) -> dict[str, float]:
        """The losses as floats, read back in one transfer (one synchronisation on a GPU)."""
        return self.read()[0]

    def terms(self) -> dict[str, mg.Tensor]:
        """{name: loss}: content, style, tv, the extra terms, total (the order they are printed in)."""
        return {**{n: getattr(self, n) for n in TERMS[:-1]}, **(self.extra or {}), TERMS[-1]: self.total}

    def read(self, layers: bool = False) -> tuple[dict[str, float], dict[str, float]]:
        """The losses (terms()) and (with ``layers``) the style loss per layer, in one transfer."""
        named = self.terms()
        per_layer = dict(self.style_layers or {}) if layers else {}
        tensors = [*named.values(), *per_layer.values()]
        host = [float(v) for v in to_numpy(self.total.xp.stack([t.data.reshape(()) for t in tensors]))]
        return dict(zip(named, host)), dict(zip(per_layer, host[len(named) :]))


def as_input(net: VGG19, array: np.ndarray) -> mg.Tensor:
    """A preprocessed (1, H, W, 3) array as a constant on the network's backend, in its dtype."""
    return mg.Tensor(net.xp.asarray(np.asarray(array, dtype=net.dtype)))


def style_grams(net: VGG19, style: np.ndarray) -> dict[str, mg.Tensor]:
    """The style targets of one preprocessed (1, H, W, 3) style image: the normalised Gram matrix of each style
    layer (under no_grad; two layers' outputs alive at a time)."""
    with mg.no_grad():
        features = net.forward(as_input(net, style), STYLE_LAYERS)
        return {name: normalized_gram(features[name]) for name in STYLE_LAYERS}


def normalized_gram(features: mg.Tensor) -> mg.Tensor:
    """F^T F / (h*w*c) for a (1, h, w, c) layer output (mg.gram is the plain F^T F of a matrix)."""
    _, h, w, c = features.shape
    flat = features.reshape(h * w, c)
    return mg.gram(flat) / (h * w * c)  # F^T F as one op: its backward is a single GEMM


def mean_square(x: mg.Tensor, target: mg.Tensor) -> mg.Tensor:
    """2 * l2_loss(x - target) / target.size: the mean of squared differences."""
    return 2 * mg.l2_loss(x - target) / target.size


def content_layer_weights(blend: float) -> dict[str, float]:
    """blend on relu4_2, 1 - blend on relu5_2; layers of weight 0 are left out (never computed)."""
    weights = dict(zip(CONTENT_LAYERS, (blend, 1.0 - blend)))
    return {name: w for name, w in weights.items() if w != 0}


def style_layer_weights(exponent: float) -> dict[str, float]:
    """Weight exponent**k for the k-th style layer, normalised to mean 1.

    The later original normalises to sum 1 and makes up for it with a default style weight of 5e2 (ours 1e2): the
    same loss at the defaults, 5 times smaller at the same style weight (docs/REFERENCE.md section 2).
    """
    raw = [float(exponent) ** k for k in range(len(STYLE_LAYERS))]
    total = sum(raw)
    return {name: w * len(raw) / total for name, w in zip(STYLE_LAYERS, raw)}


def tv_loss(image: mg.Tensor, tv_weight: float) -> mg.Tensor:
    """tv_weight * 2 * (l2(vertical diffs) / their size + l2(horizontal diffs) / their size)."""
    _, h, w, _ = image.shape
    dy = image[:, 1:, :, :] - image[:, : h - 1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, : w - 1, :]
    return tv_weight * 2 * (mg.l2_loss(dy) / dy.size + mg.l2_loss(dx) / dx.size)


class Objective:
    """The total loss of an image against targets computed once from the content and style images.

    Targets are computed under no_grad from preprocessed (1, H, W, 3) arrays; weights follow the
    original's names (docs/REFERENCE.md section 2) and default to StyleConfig's. ``style_blend_weights``
    are used as given (normalise them before).
    """

    def __init__(
        self,
        net: VGG19,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        style_blend_weights: Sequence[float],
        content_weight: float = DEFAULTS.content_weight,
        content_weight_blend: float = DEFAULTS.content_weight_blend,
        style_weight: float = DEFAULTS.style_weight,
        style_layer_weight_exp: float = DEFAULTS.style_layer_weight_exp,
        tv_weight: float = DEFAULTS.tv_weight,
        *,
        style_targets: Sequence[Mapping[str, mg.Tensor]] | None = None,
        extra: Mapping[str, Callable[[mg.Tensor], mg.Tensor]] | None = None,
    ) -> None:
        """``style_targets``: the Gram matrices of each style (style_grams), when already computed: ``styles``
        is then not looked at. ``extra``: more terms of the total, {name: loss of the image}."""
        self.net = net
        self.content_weights = content_layer_weights(content_weight_blend)
        self.layer_weights = style_layer_weights(style_layer_weight_exp)
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.blend = list(style_blend_weights)
        self.extra = dict(extra or {})
        self.content_targets, self.style_targets = self._targets(content, styles, style_targets)
        self.wanted = list(self.content_weights) + list(STYLE_LAYERS)

    def _targets(
        self, content: np.ndarray, styles: Sequence[np.ndarray], style_targets: Sequence[Mapping] | None
    ) -> tuple[dict[str, mg.Tensor], list[Mapping[str, mg.Tensor]]]:
        """The content layers' outputs for the content image, and each style's Gram matrices."""
        with mg.no_grad():
            content_targets = self.net.forward(as_input(self.net, content), self.content_weights)
        return content_targets, list(style_targets or [style_grams(self.net, style) for style in styles])

    @classmethod
    def from_config(
        cls, net: VGG19, content: np.ndarray, styles: Sequence[np.ndarray], config: StyleConfig, **targets: Any
    ) -> Objective:
        """The loss of ``config``'s weights for preprocessed (1, H, W, 3) content and style arrays (``targets``:
        the keywords style_targets and extra, as for the constructor)."""
        n_styles = len(targets.get("style_targets") or styles)
        return cls(
            net,
            content,
            styles,
            config.blend_weights(n_styles),
            config.content_weight,
            config.content_weight_blend,
            config.style_weight,
            config.style_layer_weight_exp,
            config.tv_weight,
            **targets,
        )

    def __call__(self, image: mg.Tensor) -> Losses:
        features = self.net.forward(image, self.wanted)
        content = self.content_loss(features)
        style, per_layer = self.style_losses({name: normalized_gram(features[name]) for name in STYLE_LAYERS})
        tv = tv_loss(image, self.tv_weight)
        total = content + style + tv
        extra = {name: term(image) for name, term in self.extra.items()}
        for term in extra.values():
            total = total + term
        return Losses(content, style, tv, total, per_layer, extra or None)

    def content_loss(self, features: Mapping[str, mg.Tensor]) -> mg.Tensor:
        """The content loss of the content layers' outputs (or of a layer's loss already computed, as a Tensor
        under the name of the layer in ``features``, see vgg.style.planned)."""
        terms = [
            w * self.content_weight * self.content_term(name, features[name])
            for name, w in self.content_weights.items()
        ]
        return _sum(terms)

    def content_term(self, name: str, features: mg.Tensor) -> mg.Tensor:
        return mean_square(features, self.content_targets[name])

    def style_losses(self, grams: Mapping[str, mg.Tensor]) -> tuple[mg.Tensor, dict[str, mg.Tensor]]:
        """The style loss of the style layers' normalised Gram matrices in the original's order, and each
        layer's share of it (summed over the styles)."""
        total, per_layer = None, {}
        for blend, targets in zip(self.blend, self.style_targets):
            terms = [self.layer_weights[n] * 2 * mg.l2_loss(grams[n] - targets[n]) / targets[n].size for n in grams]
            term = self.style_weight * blend * _sum(terms)
            total = term if total is None else total + term
            for name, t in zip(grams, terms):  # scalars beside the graph of the total: never differentiated
                share = t * (self.style_weight * blend)
                per_layer[name] = share if name not in per_layer else per_layer[name] + share
        return total, per_layer


def _sum(terms: list[mg.Tensor]) -> mg.Tensor:
    """((a + b) + c) + ...: the order of functools.reduce(tf.add, terms)."""
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total
