"""Coarse to fine: the content and styles at each stage's width, and a result carried up to the next.

Stage s optimises the content resized to width ``scales[s]`` (height floor(h / w * width), as
--width), against styles resized as the seed resizes them against the content width
(``style_scale * width / style width``); it starts from stage s - 1's result upsampled (bicubic,
in float, without the 8-bit rounding of an image file). Without scales there is one stage, with
the content and styles as given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from . import pixels
from .config import StyleConfig


def stage_images(
    config: StyleConfig, stage: int, content: np.ndarray, styles: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The content and styles (RGB 0..255) that stage ``stage`` optimises against."""
    if config.scales is None:
        return content, list(styles)
    width = int(config.scales[stage])
    resized = pixels.resize_to_width(content, width)
    style_scales = config.style_scales or [1.0] * len(styles)
    return resized, [pixels.scale_style(s, width, k) for s, k in zip(styles, style_scales)]


def upsample(raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (1, h, w, C) float array resized to (1, H, W, C), each channel bicubic in float32."""
    height, width = size
    planes = [Image.fromarray(np.ascontiguousarray(raw[0, :, :, c], np.float32)) for c in range(raw.shape[3])]
    channels = [np.asarray(p.resize((width, height), Image.Resampling.BICUBIC)) for p in planes]
    return np.stack(channels, axis=-1)[None].astype(raw.dtype, copy=False)
