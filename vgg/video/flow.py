"""Optical flow between content frames, Ruder et al.'s reliability weights, and warping (OpenCV).

Conventions (OpenCV's): a flow f from frame A to frame B is an (H, W, 2) float32 array of (dx, dy) with
A(p) ~ B(p + f(p)). To bring frame i-1 onto frame i's grid, sample it at p + b(p) with the *backward* flow
b = flow(frame i -> frame i-1) (Ruder et al.; artistic-videos reads backward_[i]_{i-1}.flo). The flow is
always computed on the content frames: the stylised frames are what is being made.

Reliability (Ruder et al. 2016, section 3.2; their consistencyChecker): with the forward flow w = flow(i-1 -> i)
sampled at p + b(p) (w~), a pixel of frame i is

- disoccluded (-1) where |w~ + b|^2 >= 0.01 (|w~|^2 + |b|^2) + 0.5: going back and forth does not return;
- on a motion boundary (0) where |grad b_x|^2 + |grad b_y|^2 > 0.01 |b|^2 + 0.002 (central differences);
- out of the image (0) where p + b(p) falls outside frame i-1's pixels (more than half a pixel past the centres
  of its border pixels; Ruder's checker also drops the last row and column, whose bilinear 2x2 leaves the image);
- reliable (1) elsewhere.

The weights c of the temporal loss are those labels smoothed by a Gaussian of sigma 0.8 (5 taps) and clipped
to [0, 1], as the checker does: a disocclusion's -1 pulls its neighbours down too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}  # cv2.DISOpticalFlow's PRESET_* values
DISOCCLUDED, UNRELIABLE, RELIABLE = -1.0, 0.0, 1.0
SMOOTH_SIGMA = 0.8  # Ruder's SMOOTH_STRENGH


def to_gray(frame: np.ndarray) -> np.ndarray:
    """An (H, W, 3) RGB 0..255 frame as the (H, W) uint8 gray image DIS takes (contiguous)."""
    rgb = np.clip(np.asarray(frame, dtype=np.float32), 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def dis_flow(source: np.ndarray, target: np.ndarray, preset: str = "medium") -> np.ndarray:
    """The DIS flow from ``source`` to ``target`` (gray uint8 frames): source(p) ~ target(p + flow(p))."""
    dis = cv2.DISOpticalFlow.create(PRESETS[preset])
    return dis.calc(source, target, None)


def _grid(hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    h, w = hw
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return gx, gy


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at p + flow(p) (bilinear; outside the image the border pixels are repeated), float32.

    With the backward flow of frame i this brings frame i-1 (or its stylised result) onto frame i's grid."""
    gx, gy = _grid(flow.shape[:2])
    source = np.ascontiguousarray(image, dtype=np.float32)
    return cv2.remap(source, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistency(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """The labels of frame i's pixels (module docstring): 1 reliable, 0 motion boundary or out of the image,
    -1 disoccluded; ``backward`` = flow(i -> i-1), ``forward`` = flow(i-1 -> i)."""
    h, w = backward.shape[:2]
    gx, gy = _grid((h, w))
    bx, by = gx + backward[..., 0], gy + backward[..., 1]
    inside = (bx > -0.5) & (by > -0.5) & (bx < w - 0.5) & (by < h - 0.5)
    returned = cv2.remap(np.ascontiguousarray(forward), bx, by, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    there_and_back = ((returned + backward) ** 2).sum(axis=2)
    magnitudes = (returned**2).sum(axis=2) + (backward**2).sum(axis=2)
    disoccluded = there_and_back >= 0.01 * magnitudes + 0.5
    du_dy, du_dx = np.gradient(backward[..., 0])
    dv_dy, dv_dx = np.gradient(backward[..., 1])
    boundary = du_dx**2 + du_dy**2 + dv_dx**2 + dv_dy**2 > 0.01 * (backward**2).sum(axis=2) + 0.002
    labels = np.full((h, w), RELIABLE, dtype=np.float32)
    labels[boundary] = UNRELIABLE
    labels[disoccluded] = DISOCCLUDED
    labels[~inside] = UNRELIABLE
    return labels


def weights(labels: np.ndarray) -> np.ndarray:
    """The temporal loss's per-pixel weights c in [0, 1]: the labels smoothed (sigma 0.8, 5 taps), clipped."""
    smooth = cv2.GaussianBlur(labels.astype(np.float32), (5, 5), SMOOTH_SIGMA, borderType=cv2.BORDER_REPLICATE)
    return np.clip(smooth, 0.0, 1.0)


@dataclass(frozen=True)
class PairFlow:
    """What frame i needs of the pair (i-1, i): the backward flow, the weights c, and the labels (1 reliable)."""

    backward: np.ndarray  # (H, W, 2) float32, flow(i -> i-1)
    weights: np.ndarray  # (H, W) float32 in [0, 1]
    labels: np.ndarray  # (H, W) float32: 1 reliable, 0 unreliable, -1 disoccluded


def pair_flow(previous: np.ndarray, current: np.ndarray, preset: str = "medium") -> PairFlow:
    """Flows both ways between two RGB content frames (i-1, i) and the reliability of frame i's pixels."""
    a, b = to_gray(previous), to_gray(current)
    backward, forward = dis_flow(b, a, preset), dis_flow(a, b, preset)
    labels = consistency(backward, forward)
    return PairFlow(backward, weights(labels), labels)


def composed_backward(frames: Iterable[np.ndarray], preset: str = "medium") -> np.ndarray | None:
    """The backward flow from the last of ``frames`` (RGB content frames, in order) to the first: the pairs'
    backward flows chained, b_{k->0}(p) = b_k(p) + b_{k-1->0}(p + b_k(p)) (None for fewer than two frames).
    ``warp(image of the first frame, it)`` brings that image onto the last frame's grid in one resampling."""
    composed, previous = None, None
    for frame in frames:
        current = to_gray(frame)
        if previous is not None:
            step = dis_flow(current, previous, preset)
            composed = step if composed is None else step + warp(composed, step)
        previous = current
    return composed
