"""Line charts of losses, drawn with Pillow's ImageDraw alone (no matplotlib).

Curves on a log-scale y axis against a linear x axis (iteration, or seconds), with axes, grid lines
at tick labels and a legend. Values that a log scale cannot show (zero, negative, NaN, infinite)
break the line instead. ``draw_losses`` draws a run's four losses; ``draw_curves`` any named curves,
each with its own x values (benchmarks/quality.py: total loss against seconds, per method).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from ..style.losses import TERMS

Curves = Mapping[str, tuple[Sequence[float], Sequence[float]]]  # name -> (xs, ys)
Colour = tuple[int, int, int]

SIZE = (800, 500)
MARGINS = (80, 30, 20, 50)  # left, top, right, bottom
PALETTE = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75))
# The total (the last of TERMS) in black, first in the legend and drawn on top; each term in a colour of its own.
SERIES = ((TERMS[-1], (0, 0, 0)), *((t, PALETTE[k % len(PALETTE)]) for k, t in enumerate(TERMS[:-1])))  # the seed's
AXES, GRID, BACKGROUND = (0, 0, 0), (225, 225, 225), (255, 255, 255)
MAX_Y_LABELS = 8


@dataclass
class _Frame:
    """The plot area in pixels and the data range it shows: x linear, y in decades (log10)."""

    left: int
    top: int
    right: int
    bottom: int
    x_lo: float
    x_hi: float
    decade_lo: int
    decade_hi: int

    def px(self, x: float) -> float:
        return self.left + (x - self.x_lo) / (self.x_hi - self.x_lo) * (self.right - self.left)

    def py(self, y: float) -> float:
        share = (math.log10(y) - self.decade_lo) / (self.decade_hi - self.decade_lo)
        return self.bottom - share * (self.bottom - self.top)


def _drawable(y: float) -> bool:
    return math.isfinite(y) and y > 0


def _frame(size: tuple[int, int], curves: Curves) -> _Frame:
    xs = [x for x_values, _ in curves.values() for x in x_values if math.isfinite(x)]
    ys = [y for _, y_values in curves.values() for y in y_values if _drawable(y)]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0, 1)
    lo, hi = (math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))) if ys else (0, 1)
    left, top, right, bottom = MARGINS
    return _Frame(left, top, size[0] - right, size[1] - bottom, x_lo, max(x_hi, x_lo + 1), lo, max(hi, lo + 1))


def _x_ticks(lo: float, hi: float, count: int = 6) -> list[int]:
    """Whole numbers 1, 2 or 5 times a power of ten apart, about ``count`` of them."""
    raw = max((hi - lo) / count, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    return list(range(int(first), int(hi) + 1, int(step)))


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: object, align: str) -> None:
    """Text placed by one of its edges: align is 'right' (of xy), 'top' (centred under xy) or 'left'."""
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    width, height = x1 - x0, y1 - y0
    x, y = xy
    offsets = {"right": (-width - 4, -height / 2), "top": (-width / 2, 4), "left": (4, -height / 2)}
    dx, dy = offsets[align]
    draw.text((x + dx - x0, y + dy - y0), text, fill=AXES, font=font)


def _axes(draw: ImageDraw.ImageDraw, f: _Frame, font: object, x_label: str) -> None:
    every = math.ceil((f.decade_hi - f.decade_lo) / MAX_Y_LABELS)
    for decade in range(f.decade_lo, f.decade_hi + 1, every):
        y = f.py(10.0**decade)
        draw.line([(f.left, y), (f.right, y)], fill=GRID)
        _text(draw, (f.left, y), f"1e{decade}", font, "right")
    for step in _x_ticks(f.x_lo, f.x_hi):
        x = f.px(step)
        draw.line([(x, f.top), (x, f.bottom)], fill=GRID)
        draw.line([(x, f.bottom), (x, f.bottom + 4)], fill=AXES)
        _text(draw, (x, f.bottom + 4), str(step), font, "top")
    draw.rectangle([f.left, f.top, f.right, f.bottom], outline=AXES)
    _text(draw, ((f.left + f.right) / 2, f.bottom + 22), x_label, font, "top")
    _text(draw, (f.left - 4, f.top / 2), "loss (log scale)", font, "left")


def _runs(points: Sequence[tuple[float, float]], f: _Frame) -> list[list[tuple[float, float]]]:
    """The pixel polylines of one series, split where a value cannot be drawn."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if _drawable(y):
            runs[-1].append((f.px(x), f.py(y)))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _series(draw: ImageDraw.ImageDraw, f: _Frame, curves: Curves, series: Sequence[tuple[str, Colour]]) -> None:
    for name, colour in reversed(series):  # the first last, on top
        xs, ys = curves.get(name, ((), ()))
        for run in _runs(list(zip(xs, ys)), f):
            if len(run) == 1:
                (x, y), r = run[0], 2
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
            else:
                draw.line(run, fill=colour, width=2, joint="curve")


def _legend(draw: ImageDraw.ImageDraw, f: _Frame, font: object, series: Sequence[tuple[str, Colour]]) -> None:
    row = 16
    width = 48 + max((draw.textbbox((0, 0), name, font=font)[2] for name, _ in series), default=62)
    x0, y0 = f.right - width - 8, f.top + 8
    draw.rectangle([x0, y0, x0 + width, y0 + row * len(series) + 8], fill=BACKGROUND, outline=AXES)
    for k, (name, colour) in enumerate(series):
        y = y0 + 12 + k * row
        draw.line([(x0 + 8, y), (x0 + 32, y)], fill=colour, width=2)
        _text(draw, (x0 + 32, y), name, font, "left")


def draw_curves(
    curves: Curves,
    series: Sequence[tuple[str, Colour]],
    size: tuple[int, int] = SIZE,
    x_label: str = "iteration",
) -> Image.Image:
    """An RGB chart of ``curves`` (name -> (xs, ys)), drawn and named in the legend as ``series`` lists them."""
    img = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    frame = _frame(size, curves)
    _axes(draw, frame, font, x_label)
    _series(draw, frame, curves, series)
    _legend(draw, frame, font, series)
    return img


def series_of(names: Sequence[str]) -> tuple[tuple[str, Colour], ...]:
    """The total in black, first; each other term in a colour of its own (SERIES for the seed's terms)."""
    total, others = TERMS[-1], [n for n in names if n != TERMS[-1]]
    return ((total, (0, 0, 0)), *((n, PALETTE[k % len(PALETTE)]) for k, n in enumerate(others)))


def draw_losses(
    steps: Sequence[float], columns: Mapping[str, Sequence[float]], size: tuple[int, int] = SIZE
) -> Image.Image:
    """An RGB chart of ``columns`` (name -> values, one per step) against ``steps``; the seed's terms when
    there are no columns yet."""
    series = series_of(list(columns) or TERMS)
    return draw_curves({name: (steps, columns.get(name, ())) for name, _ in series}, series, size)
