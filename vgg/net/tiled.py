"""The first layers of VGG-19 run strip by strip (vgg.net.tiles), in the memory of one strip.

``forward_strips`` runs the layers up to the split on each strip without a graph and keeps only the split's
output (each strip's owned rows) and what the caller collects from earlier layers (each strip's owned rows of
them, handed to a callback: a Gram matrix summed over the strips, say). ``backward_strips`` recomputes each
strip with its graph and turns the gradient at the split, and a surrogate loss of each earlier layer's owned
rows (whose gradient is the true loss's gradient there), into the image's gradient, summed over the strips'
overlapping image rows. Shapes are NHWC; strips span the whole width.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import minigrad as mg

from .model import VGG19
from .tiles import first_row, owned_rows, strips

Collect = Callable[[Any, tuple[int, int]], None]  # (the owned rows' features, as an array; which rows)
Surrogate = Callable[[mg.Tensor, tuple[int, int]], mg.Tensor]  # (the owned rows' features; which rows) -> scalar


def _owned(height: int, split: str, layer: str, strip: Any, features: Any) -> tuple[Any, tuple[int, int]]:
    """The owned rows of a strip's output of ``layer`` (an array or a Tensor), and which rows they are."""
    lo, hi = owned_rows(height, split, layer, strip.owned)
    start = first_row(height, layer, strip.image[0])
    return features[:, lo - start : hi - start], (lo, hi)


def forward_strips(net: VGG19, image: Any, split: str, rows: int, collect: Mapping[str, Collect] | None = None) -> Any:
    """The split's output for a preprocessed (1, H, W, 3) array, computed strip by strip without a graph;
    ``collect[layer](owned rows, (first, last + 1))`` is called for each strip and each layer named."""
    collect = dict(collect or {})
    height, out, plan = image.shape[1], None, strips(image.shape[1], split, rows)
    with mg.no_grad():
        for strip in plan:
            lo, hi = strip.image
            outputs = net.forward(mg.Tensor(image[:, lo:hi]), [*collect, split])
            for layer, callback in collect.items():
                callback(*_owned(height, split, layer, strip, outputs[layer].data))
            piece, (a, b) = _owned(height, split, split, strip, outputs.pop(split).data)
            del outputs
            if out is None:
                out = net.xp.empty((1, plan[-1].owned[1], *piece.shape[2:]), piece.dtype)
            out[:, a:b] = piece
    return out


def backward_strips(
    net: VGG19,
    image: Any,
    split: str,
    rows: int,
    grad_split: Any,
    surrogates: Mapping[str, Surrogate] | None = None,
) -> Any:
    """The image's gradient: each strip recomputed with its graph, its owned split rows weighted by
    ``grad_split`` and ``surrogates[layer](owned rows, (first, last + 1))`` added, then differentiated."""
    surrogates = dict(surrogates or {})
    height, grad = image.shape[1], net.xp.zeros_like(image)
    for strip in strips(height, split, rows):
        lo, hi = strip.image
        x = mg.Tensor(image[:, lo:hi], requires_grad=True)
        outputs = net.forward(x, [*surrogates, split])
        piece, (a, b) = _owned(height, split, split, strip, outputs.pop(split))
        total = (piece * mg.Tensor(grad_split[:, a:b])).sum()
        for layer, surrogate in surrogates.items():
            total = total + surrogate(*_owned(height, split, layer, strip, outputs[layer]))
        del outputs, piece
        total.backward()
        grad[:, lo:hi] += x.grad
    return grad
