"""Pixel maths of the algorithm: the network's input space, 8-bit rounding, resizing, colour transfer.

Images are (H, W, 3) float arrays, RGB in 0..255. The one rule for a size from a width is ``width_hw``
(the seed's: height floor(h / w * width), at least 1): every resize, estimate and check calls it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from ..errors import ImageError


def preprocess(image: np.ndarray, mean_pixel: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """RGB 0..255 -> network input: the mean pixel subtracted."""
    return np.asarray(image, dtype=dtype) - np.asarray(mean_pixel, dtype=dtype)


def unprocess(image: np.ndarray, mean_pixel: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """Network input -> RGB 0..255 (not clipped)."""
    return np.asarray(image, dtype=dtype) + np.asarray(mean_pixel, dtype=dtype)


ROWS_AT_ONCE = 256  # to_uint8 clips this many rows at a time: no float copy of a whole print-size image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip to 0..255 and truncate to 8 bits, as the original does (docs/REFERENCE.md section 3)."""
    image = np.asarray(image)
    out = np.empty(image.shape, np.uint8)
    for start in range(0, max(len(image), 1), ROWS_AT_ONCE):
        out[start : start + ROWS_AT_ONCE] = np.clip(image[start : start + ROWS_AT_ONCE], 0, 255)
    return out


MAX_SIDE = 2**31 - 1  # Pillow's sizes are C ints: a larger side is an OverflowError inside it


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB 0..255 image to (height, width) with Pillow's bicubic filter."""
    height, width = size
    if height < 1 or width < 1 or max(height, width) > MAX_SIDE:
        raise ImageError(f"cannot resize an image to {width}x{height} (sides from 1 to {MAX_SIDE})")
    if image.shape[:2] == (height, width):
        return np.asarray(image)
    img = Image.fromarray(to_uint8(image)).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32)


def width_hw(hw: tuple[int, int], width: int) -> tuple[int, int]:
    """The (height, width) resize_to_width gives an h x w image: height floor(h / w * width) (at least 1)."""
    h, w = hw
    return max(1, math.floor(float(h) / w * width)), width


def resize_to_width(image: np.ndarray, width: int) -> np.ndarray:
    """--width: the given width, height floor(h / w * width) (at least 1)."""
    return resize(image, width_hw(image.shape[:2], width))


def scale_style(style: np.ndarray, content_width: int, style_scale: float = 1.0) -> np.ndarray:
    """Resize a style image by style_scale * content_width / style_width."""
    return resize(style, scaled_style_hw(style.shape[:2], content_width, style_scale))


def scaled_style_hw(hw: tuple[int, int], content_width: int, style_scale: float = 1.0) -> tuple[int, int]:
    """The (height, width) scale_style gives an h x w style."""
    h, w = hw
    target_width = style_scale * content_width
    return max(1, int(h * target_width / w)), max(1, int(target_width))


def preserve_colors(styled: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance (Y) of the styled image with the chroma (Cb, Cr) of the content, as float RGB."""
    styled_u8, content_u8 = to_uint8(styled), to_uint8(content)
    # Rec. 601 luma, made gray, then converted: the later original's steps (docs/REFERENCE.md section 4),
    # but with the luma of the 8-bit result
    gray = np.dot(styled_u8.astype(np.float32), np.array([0.299, 0.587, 0.114], dtype=np.float32))
    gray_rgb = np.repeat(gray[:, :, None], 3, axis=2).astype(np.uint8)
    luma = np.asarray(Image.fromarray(gray_rgb).convert("YCbCr"))[..., 0]
    combined = np.asarray(Image.fromarray(content_u8).convert("YCbCr")).copy()
    combined[..., 0] = luma
    return np.asarray(Image.fromarray(combined, "YCbCr").convert("RGB"), dtype=np.float32)
