"""The short-term temporal loss of Ruder, Dosovitskiy and Brox (2016), as an extra term of the objective.

    L_temporal(x) = gamma / D * sum_k c_k (x_k - w_k)^2,   D = H * W * 3

over the preprocessed image x (RGB 0..255 minus the mean pixel, the space every loss here works in), the
previous stylised frame warped onto this one (w, preprocessed too) and the per-pixel weights c in [0, 1] (0
where the flow is not reliable), the same for the three channels. D counts every element, also those of
weight 0, as artistic-videos' MSECriterion does; at the default content and style weights (5, 1e2) this is
the scaling their temporal weight of 1e3 was set for. Computed as gamma * 2 * l2_loss(sqrt(c) (x - w)) / D.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg

from ..net.model import VGG19
from . import pixels


class TemporalLoss:
    """gamma / D * sum c (x - w)^2 for an image Tensor x (1, H, W, 3); see the module docstring."""

    def __init__(self, target: mg.Tensor, root: mg.Tensor, weight: float) -> None:
        self.target, self.root, self.weight = target, root, weight
        self.size = int(np.prod(target.shape))

    def __call__(self, image: mg.Tensor) -> mg.Tensor:
        return self.weight * 2 * mg.l2_loss(self.root * (image - self.target)) / self.size


def temporal_loss(net: VGG19, warped: np.ndarray, weights: np.ndarray, weight: float) -> Callable[..., mg.Tensor]:
    """The term for one frame: ``warped`` the previous stylised frame on this frame's grid (H, W, 3; RGB 0..255),
    ``weights`` its reliability c (H, W) in [0, 1], ``weight`` gamma; on the network's backend, in its dtype."""
    h, w = weights.shape
    if warped.shape != (h, w, 3):
        raise ValueError(f"temporal loss: warped frame {warped.shape} and weights {weights.shape} differ in size")
    target = pixels.preprocess(warped, net.mean_pixel, net.dtype)[None]
    root = np.sqrt(np.clip(weights, 0, 1)).astype(net.dtype).reshape(1, h, w, 1)
    return TemporalLoss(mg.Tensor(net.xp.asarray(target)), mg.Tensor(net.xp.asarray(root)), weight)
