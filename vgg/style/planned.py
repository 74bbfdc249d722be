"""The seed's losses and the image's gradient in bounded memory: the first layers in strips (vgg.net.tiled).

A plan (vgg.net.tiles.Plan) splits VGG-19 after a pooling layer. The layers up to the split run strip by strip
without a graph: what the losses need from them is summed over the strips as they go (the Gram matrix of a
style layer, G = sum of the strips' F^T F; the squared distance of a content layer to its target); the rest of
the network runs on the whole split output with its graph, and the losses are taken as usual, each early style
layer's normalised Gram matrix a leaf of that graph. Backward then gives the gradient at the split and at each
early Gram matrix, and each strip is computed again with its graph and differentiated with a surrogate whose
gradient is the loss's: the split rows weighted by their gradient, and for a style layer tr(F^T F Gbar) / N (its
gradient 2 F Gbar / N, Gbar the symmetric gradient of the normalised Gram matrix). The values equal the whole
image's to float32 summation-order rounding. To the loop it is one op over the image (PlannedLoss), whose
backward is that second pass, so the loop and the optimisers do not know about plans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import minigrad as mg

from ..net.layers import VGG19_LAYERS
from ..net.model import VGG19
from ..net.tiled import backward_strips, forward_strips
from ..net.tiles import Plan
from .losses import STYLE_LAYERS, Losses, Objective, as_input, tv_loss


def _before(plan: Plan, layers: Sequence[str]) -> list[str]:
    """The layers among ``layers`` that run in strips (at or before the split)."""
    return [n for n in layers if VGG19_LAYERS.index(n) <= VGG19_LAYERS.index(plan.split)]


def _after(plan: Plan, layers: Sequence[str]) -> list[str]:
    return [n for n in layers if VGG19_LAYERS.index(n) > VGG19_LAYERS.index(plan.split)]


class _GramSum:
    """F^T F summed over the strips' owned rows of one layer (no graph)."""

    def __init__(self) -> None:
        self.gram: Any = None
        self.count = 0

    def __call__(self, features: Any, rows: tuple[int, int]) -> None:
        flat = features.reshape(-1, features.shape[-1])
        with mg.no_grad():
            part = mg.gram(mg.Tensor(flat)).data
        self.gram = part if self.gram is None else self.gram + part
        self.count += flat.size

    def normalized(self) -> Any:
        """G / (h * w * c), as normalized_gram gives it for the whole layer."""
        return self.gram / self.gram.dtype.type(self.count)


def planned_style_grams(net: VGG19, style: np.ndarray, plan: Plan) -> dict[str, mg.Tensor]:
    """style_grams of a preprocessed (1, H, W, 3) style image, the layers up to the split in strips."""
    sums = {name: _GramSum() for name in _before(plan, STYLE_LAYERS)}
    image = as_input(net, style).data
    split = forward_strips(net, image, plan.split, plan.rows, sums)
    grams = {name: mg.Tensor(s.normalized()) for name, s in sums.items()}
    later = _after(plan, STYLE_LAYERS)
    with mg.no_grad():
        features = net.forward(mg.Tensor(split), later, after=plan.split) if later else {}
        del split
        for name in later:
            flat = features.pop(name)
            _, h, w, c = flat.shape
            grams[name] = mg.gram(flat.reshape(h * w, c)) / (h * w * c)
    return {name: grams[name] for name in STYLE_LAYERS}


@dataclass
class _Pass:
    """One evaluation's forward: the values for the reports, and (to differentiate) the graph of the rest."""

    values: dict[str, Any] = field(default_factory=dict)
    total: mg.Tensor | None = None
    split: mg.Tensor | None = None  # the leaf at the split
    grams: dict[str, mg.Tensor] = field(default_factory=dict)  # the leaves of the early style layers
    counts: dict[str, int] = field(default_factory=dict)  # their N = h * w * c
    image: mg.Tensor | None = None  # the leaf the total variation and the extra terms are taken of


class PlannedObjective(Objective):
    """Objective's losses and gradient under a plan (module docstring); called as Objective is."""

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        self.plan = plan
        super().__init__(*args, **kwargs)

    def _targets(
        self, content: np.ndarray, styles: Sequence[np.ndarray], style_targets: Sequence[Mapping] | None
    ) -> tuple[dict[str, mg.Tensor], list[Mapping[str, mg.Tensor]]]:
        early, late = _before(self.plan, self.content_weights), _after(self.plan, self.content_weights)
        rows: dict[str, list] = {name: [] for name in early}

        def keep(name: str) -> Any:
            return lambda features, _rows: rows[name].append(features.copy())

        image = as_input(self.net, content).data
        split = forward_strips(self.net, image, self.plan.split, self.plan.rows, {n: keep(n) for n in early})
        targets = {name: mg.Tensor(self.net.xp.concatenate(parts, axis=1)) for name, parts in rows.items()}
        with mg.no_grad():
            if late:
                targets.update(self.net.forward(mg.Tensor(split), late, after=self.plan.split))
        grams = style_targets or [planned_style_grams(self.net, style, self.plan) for style in styles]
        return targets, list(grams)

    def __call__(self, image: mg.Tensor) -> Losses:
        result = _Pass()
        total = PlannedLoss.apply(image, objective=self, result=result)
        constants = {k: mg.Tensor(v) for k, v in result.values.items()}
        layers = {k[len("layer/") :]: v for k, v in constants.items() if k.startswith("layer/")}
        extra = {k[len("extra/") :]: v for k, v in constants.items() if k.startswith("extra/")}
        return Losses(constants["content"], constants["style"], constants["tv"], total, layers, extra or None)

    def forward_pass(self, x: Any, keep: bool) -> _Pass:
        """The losses of a preprocessed (1, H, W, 3) array; with ``keep``, the graph backward_pass needs."""
        out, plan = _Pass(), self.plan
        sums = {name: _GramSum() for name in _before(plan, STYLE_LAYERS)}
        squares = {name: _SquareSum(self.content_targets[name]) for name in _before(plan, self.content_weights)}
        split = forward_strips(self.net, x, plan.split, plan.rows, {**sums, **squares})
        with _recording(keep):
            out.split = mg.Tensor(split, requires_grad=keep)
            features = self.net.forward(out.split, _after(plan, self.wanted), after=plan.split)
            out.grams = {name: mg.Tensor(s.normalized(), requires_grad=keep) for name, s in sums.items()}
            out.counts = {name: s.count for name, s in sums.items()}
            grams = {**out.grams}
            for name in _after(plan, STYLE_LAYERS):
                _, h, w, c = features[name].shape
                grams[name] = mg.gram(features[name].reshape(h * w, c)) / (h * w * c)
            content_inputs = {**features, **{name: s.loss() for name, s in squares.items()}}
            content = self.content_loss(content_inputs)
            style, per_layer = self.style_losses(grams)
            out.image = mg.Tensor(x, requires_grad=keep)
            tv = tv_loss(out.image, self.tv_weight)
            total = content + style + tv
            extra = {name: term(out.image) for name, term in self.extra.items()}
            for term in extra.values():
                total = total + term
        out.total = total
        out.values = {"content": content.data, "style": style.data, "tv": tv.data}
        out.values.update({f"layer/{k}": v.data for k, v in per_layer.items()})
        out.values.update({f"extra/{k}": v.data for k, v in extra.items()})
        return out

    def content_term(self, name: str, features: Any) -> mg.Tensor:
        if isinstance(features, _Distance):  # an early content layer: its distance summed over the strips
            return features.tensor
        return super().content_term(name, features)

    def backward_pass(self, done: _Pass, x: Any, gy: Any) -> Any:
        """The gradient of the forward pass's total (times ``gy``) with respect to the image ``x``."""
        done.total.backward(gy)
        surrogates = {
            name: _gram_surrogate(leaf.grad, done.counts[name])
            for name, leaf in done.grams.items()
            if leaf.grad is not None
        }
        for name, w in self.content_weights.items():
            if VGG19_LAYERS.index(name) <= VGG19_LAYERS.index(self.plan.split):
                surrogates[name] = _content_surrogate(self.content_targets[name].data, w * self.content_weight, gy)
        grad = backward_strips(self.net, x, self.plan.split, self.plan.rows, done.split.grad, surrogates)
        return grad + done.image.grad


class _SquareSum:
    """The squared distance of an early content layer to its target, summed over the strips."""

    def __init__(self, target: mg.Tensor) -> None:
        self.target, self.sum = target.data, None

    def __call__(self, features: Any, rows: tuple[int, int]) -> None:
        diff = features - self.target[:, rows[0] : rows[1]]
        part = (diff * diff).sum()
        self.sum = part if self.sum is None else self.sum + part

    def loss(self) -> _Distance:
        return _Distance(mg.Tensor(self.sum / self.target.dtype.type(self.target.size)))  # mean_square's value


@dataclass
class _Distance:
    tensor: mg.Tensor


def _gram_surrogate(gbar: Any, count: int) -> Any:
    """tr(F^T F Gbar) / N of a strip's owned rows F (N: the layer's h * w * c): its gradient, 2 F sym(Gbar) / N,
    is the loss's there (module docstring)."""
    weight = mg.Tensor(gbar / gbar.dtype.type(count))

    def surrogate(features: mg.Tensor, rows: tuple[int, int]) -> mg.Tensor:
        _, h, w, c = features.shape
        return (mg.gram(features.reshape(h * w, c)) * weight).sum()

    return surrogate


def _content_surrogate(target: Any, weight: float, gy: Any) -> Any:
    """weight * gy * mean_square of the strip's owned rows against the target's rows (its gradient is the loss's)."""

    def surrogate(features: mg.Tensor, rows: tuple[int, int]) -> mg.Tensor:
        diff = features - mg.Tensor(target[:, rows[0] : rows[1]])
        return mg.l2_loss(diff) * (2 * float(weight) * float(gy) / target.size)

    return surrogate


class PlannedLoss(mg.Function):
    """The total loss of a planned objective as one op over the image; its backward is the strips' second pass."""

    def __init__(self, objective: PlannedObjective, result: _Pass) -> None:
        self.objective, self.result, self.done = objective, result, None

    def forward(self, x: Any) -> Any:
        done = self.objective.forward_pass(x, keep=bool(self.needs_input_grad and self.needs_input_grad[0]))
        self.result.values = done.values
        if self.needs_input_grad and self.needs_input_grad[0]:
            self.done, self.x = done, x
        return done.total.data

    def backward(self, gy: Any) -> tuple[Any]:
        grad = self.objective.backward_pass(self.done, self.x, gy)
        self.done = self.x = None
        return (grad,)

    def release(self) -> None:
        super().release()
        self.done = self.x = None


class _recording:  # noqa: N801 - a context manager, used as `with _recording(keep):`
    """Ops record a graph inside only when ``keep`` (else as under no_grad)."""

    def __init__(self, keep: bool) -> None:
        self.keep, self.context = keep, None

    def __enter__(self) -> None:
        if not self.keep:
            self.context = mg.no_grad()
            self.context.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.context is not None:
            self.context.__exit__(*exc)
