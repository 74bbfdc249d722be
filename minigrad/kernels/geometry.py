"""Output sizes and padding, with TensorFlow's rules."""

from __future__ import annotations

from typing import NamedTuple


class Axis(NamedTuple):
    """One spatial axis: output length and padding before/after."""

    out: int
    before: int
    after: int


def axis_geometry(size: int, k: int, stride: int, padding: str) -> Axis:
    """TF's SAME puts the odd padding cell after (bottom/right); VALID pads nothing."""
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        return Axis(out, total // 2, total - total // 2)
    if padding == "VALID":
        out = (size - k) // stride + 1 if size >= k else 0
        return Axis(out, 0, 0)
    raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")


def pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """An int or an (h, w) pair of positive ints."""
    pair_ = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair_) != 2 or not all(isinstance(v, int) and v > 0 for v in pair_):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return pair_  # type: ignore[return-value]
