"""Draw the example images procedurally (numpy + Pillow, no downloads), CC0.

    python examples/make_examples.py

writes examples/content.jpg (a landscape: sky, sun, mountain ridges, a lake with its reflection)
and examples/style.jpg (a swirling, stroke-textured "painting"). The output is the same on every run.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a * (1 - t[..., None]) + b * t[..., None]


def _ridge(x: np.ndarray, base: float, amplitude: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    height = np.full_like(x, base)
    for k in range(1, 6):
        height += amplitude / k * np.sin(2 * np.pi * k * x * rng.uniform(0.5, 1.5) + rng.uniform(0, 2 * np.pi))
    return height


def landscape(width: int = 256, height: int = 192) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    sky = _mix(np.array([70.0, 120, 200]), np.array([250.0, 200, 150]), np.clip(y / 0.55, 0, 1))
    sun = np.exp(-(((x - 0.72) * 1.4) ** 2 + (y - 0.25) ** 2) / 0.004)
    image = sky + sun[..., None] * np.array([255.0, 230, 150])
    layers = [(0.42, 0.08, 1, [95, 110, 150]), (0.50, 0.06, 2, [60, 85, 95]), (0.57, 0.04, 3, [40, 70, 50])]
    for base, amplitude, seed, colour in layers:
        ridge = _ridge(x[0], base, amplitude, seed)
        image = np.where((y > ridge[None, :])[..., None], np.array(colour, float) * (0.8 + 0.4 * y[..., None]), image)
    lake = y > 0.68
    mirror = np.clip((2 * 0.68 - y) * height, 0, height - 1).astype(int)
    reflection = image[mirror, np.arange(width)[None, :]] * 0.6 + np.array([20.0, 40, 70])
    ripples = 1 + 0.08 * np.sin(y * 180 + 3 * np.sin(x * 20))
    image = np.where(lake[..., None], reflection * ripples[..., None], image)
    return np.clip(image, 0, 255).astype(np.uint8)


def painting(size: int = 256) -> np.ndarray:
    y, x = (np.mgrid[0:size, 0:size] / size - 0.5) * 2
    radius, angle = np.hypot(x, y), np.arctan2(y, x)
    swirl = np.sin(12 * radius - 3 * angle + 4 * np.sin(3 * x) * np.cos(2 * y))
    bands = np.sin(9 * (x + 0.3 * np.sin(5 * y)) + 2 * swirl)
    palette = np.array([[25.0, 40, 110], [60, 110, 190], [240, 200, 60], [250, 245, 220], [30, 90, 70]])
    t = (swirl + bands + 2) / 4 * (len(palette) - 1)
    low = np.clip(np.floor(t).astype(int), 0, len(palette) - 2)
    image = _mix(palette[low], palette[low + 1], t - low)
    strokes = np.random.default_rng(0).normal(0, 1, (size, size))
    img = Image.fromarray(((strokes - strokes.min()) / np.ptp(strokes) * 255).astype(np.uint8))
    streaks = np.asarray(img.filter(ImageFilter.GaussianBlur(1.2)), float) / 255 - 0.5
    image *= (1 + 0.35 * streaks)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def main() -> None:
    Image.fromarray(landscape()).save(os.path.join(HERE, "content.jpg"), quality=90)
    Image.fromarray(painting()).save(os.path.join(HERE, "style.jpg"), quality=90)


if __name__ == "__main__":
    main()
