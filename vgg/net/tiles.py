"""Horizontal strips through the first layers of VGG-19: which rows each layer must compute so that a strip's
own rows of a later layer come out exactly as the whole image would give them.

A plan splits the network after a pooling layer (``split``): the layers up to it run strip by strip, the rest on
the whole (smaller) output of the split. The split's output rows are cut into strips of ``rows`` rows; a strip
*owns* those rows, and the rows of every earlier layer that pool down into them. Walking back from the owned rows
through the layer table gives the rows each layer needs: a 3x3 SAME convolution one more row on each side, a
2x2 stride-2 pooling twice the rows; at the image's top and bottom the convolution's zero padding is the image's
own, so nothing more is needed there. The image rows are widened to a multiple of 2^(pools before the split), so
that every pooling window of the strip is one of the whole image's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .layers import VGG19_LAYERS, layer_kind

SPLITS = ("pool1", "pool2", "pool3", "pool4")  # where a plan may split: after a pooling layer


@dataclass(frozen=True)
class Strip:
    """One strip: ``owned`` rows of the split's output; ``image`` rows of the input it is computed from."""

    owned: tuple[int, int]
    image: tuple[int, int]


def heights(height: int, split: str) -> list[int]:
    """The output height of every layer up to ``split`` for an image ``height`` rows high (SAME pooling)."""
    out, h = [], height
    for name in VGG19_LAYERS[: VGG19_LAYERS.index(split) + 1]:
        if layer_kind(name) == "pool":
            h = math.ceil(h / 2)
        out.append(h)
    return out


def image_rows(height: int, split: str, owned: tuple[int, int]) -> tuple[int, int]:
    """The image rows a strip owning rows ``owned`` of the split's output is computed from."""
    names = VGG19_LAYERS[: VGG19_LAYERS.index(split) + 1]
    sizes = [height, *heights(height, split)[:-1]]  # the input height of each layer
    lo, hi = owned
    for name, h_in in zip(reversed(names), reversed(sizes)):
        kind = layer_kind(name)
        if kind == "pool":
            lo, hi = 2 * lo, 2 * hi
        elif kind == "conv":
            lo, hi = lo - 1, hi + 1
        lo, hi = max(lo, 0), min(hi, h_in)
    pools = sum(layer_kind(n) == "pool" for n in names)
    step = 2**pools
    return (lo // step) * step, min(-(-hi // step) * step, height)


def strips(height: int, split: str, rows: int) -> list[Strip]:
    """The strips of ``rows`` rows of the split's output (the last may be shorter) for an image ``height`` high."""
    if split not in SPLITS:
        raise ValueError(f"a plan splits after one of {', '.join(SPLITS)}, not {split!r}")
    if rows < 1:
        raise ValueError(f"a strip has at least one row, got {rows}")
    out_height = heights(height, split)[-1]
    return [
        Strip((a, min(a + rows, out_height)), image_rows(height, split, (a, min(a + rows, out_height))))
        for a in range(0, out_height, rows)
    ]


def owned_rows(height: int, split: str, layer: str, owned: tuple[int, int]) -> tuple[int, int]:
    """The rows of ``layer`` (at or before the split) that pool down into the split's rows ``owned``."""
    index, split_index = VGG19_LAYERS.index(layer), VGG19_LAYERS.index(split)
    if index > split_index:
        raise ValueError(f"{layer} comes after the split {split}")
    pools = sum(layer_kind(n) == "pool" for n in VGG19_LAYERS[index + 1 : split_index + 1])
    layer_height = heights(height, split)[index]
    return min(owned[0] * 2**pools, layer_height), min(owned[1] * 2**pools, layer_height)


def first_row(height: int, layer: str, image_start: int) -> int:
    """The row of ``layer``'s output that the first row of a strip starting at image row ``image_start`` computes
    (strips start on rows every pooling window starts on, so this is exact)."""
    pools = sum(layer_kind(n) == "pool" for n in VGG19_LAYERS[: VGG19_LAYERS.index(layer) + 1])
    return image_start // 2**pools


@dataclass(frozen=True)
class Plan:
    """Run the layers up to ``split`` in strips of ``rows`` rows of its output; the rest on the whole."""

    split: str
    rows: int

    def __post_init__(self) -> None:
        if self.split not in SPLITS or self.rows < 1:
            raise ValueError(f"a plan splits after one of {', '.join(SPLITS)} in strips of 1 row or more, got {self}")

    def describe(self, height: int) -> str:
        count = len(strips(height, self.split, self.rows))
        return f"layers up to {self.split} in {count} strips of {self.rows} rows of {self.split}, the rest whole"
