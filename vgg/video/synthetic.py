"""A synthetic clip under known motion, for tests and benchmarks (numpy and SciPy only: no extra needed).

A textured scene (coloured noise at several scales, with hard-edged discs so that the flow has edges) seen by a
camera that pans, then zooms, while a textured square moves over it: with 24 frames, frames 0-7 pan (the
camera moves right), 8-15 zoom in (about the centre), 16-23 hold the camera still while the square crosses the
picture. Frames are rendered by sampling the scene at continuous coordinates (cubic), so motion is sub-pixel
exact.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SCENE_SCALE = 2  # the scene is this many times the frame's size, so that the camera never leaves it


def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float RGB 0..255: noise smoothed at three scales, plus discs of flat colour."""
    out = np.zeros((h, w, 3))
    for sigma, amplitude in ((max(h, w) / 16, 60.0), (max(h, w) / 48, 40.0), (1.0, 15.0)):
        noise = ndimage.gaussian_filter(rng.standard_normal((h, w, 3)), (sigma, sigma, 0))
        out += amplitude * noise / (noise.std() + 1e-9)
    out += 128
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(12):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.03, 0.08) * min(h, w)
        out[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    return np.clip(out, 0, 255)


def _camera(t: int, n: int, w: int) -> tuple[float, float]:
    """(x offset in frame pixels, zoom factor) of frame t: pan in the first third, zoom in the second."""
    third = max(1, n // 3)
    pan = 0.02 * w * min(t, third)
    zoom = 1.03 ** min(max(t - third, 0), third)
    return pan, zoom


def _sample(scene: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return np.stack([ndimage.map_coordinates(scene[..., c], [ys, xs], order=3, mode="reflect") for c in range(3)], -1)


def synthetic_clip(n: int = 24, h: int = 96, w: int = 128, seed: int = 0) -> list[np.ndarray]:
    """``n`` frames (h, w, 3) uint8 RGB of the scene (module docstring)."""
    rng = np.random.default_rng(seed)
    scene = _texture(SCENE_SCALE * h, SCENE_SCALE * w, rng)
    square = _texture(h // 3, h // 3, rng)[..., ::-1]  # other colours than the background
    side = square.shape[0]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    frames, third = [], max(1, n // 3)
    for t in range(n):
        pan, zoom = _camera(t, n, w)
        ys = (yy - h / 2) / zoom + SCENE_SCALE * h / 2
        xs = (xx - w / 2) / zoom + SCENE_SCALE * w / 2 - w / 2 + pan
        frame = _sample(scene, ys, xs)
        moved = min(max(t - 2 * third, 0), third) / third  # 0 .. 1 over the last third
        top, left = (h - side) // 2, 0.1 * w + moved * 0.6 * w
        inside = (yy >= top) & (yy < top + side) & (xx >= left) & (xx < left + side)
        patch = _sample(square, yy - top, xx - left)
        frame[inside] = patch[inside]
        frames.append(np.clip(frame, 0, 255).round().astype(np.uint8))
    return frames
