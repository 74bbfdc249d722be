"""Images through Pillow: read as float RGB 0..255, resize, save as 8-bit RGB atomically."""

from __future__ import annotations

import io
import math
import os
import tempfile
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ImageError

# Pillow modes holding 16-bit samples: scaled to 0..255 (the original would have kept 0..65535).
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")


def _open(path: str | os.PathLike) -> Image.Image:
    name = os.fspath(path)
    try:
        with Image.open(name) as img:
            img.load()
            return img.copy() if img.mode != "P" else img.convert("RGBA")
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a directory, not an image") from None
    except PermissionError as exc:
        raise ImageError(f"{name}: cannot be read ({exc.strerror})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image format Pillow can read (unknown format or damaged header)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from None


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """(H, W, 3) float32 in 0..255: grayscale replicated, palette expanded, alpha dropped."""
    if img.mode in _SIXTEEN_BIT:
        gray = np.asarray(img, dtype=np.float32) / np.float32(257.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode in ("I", "F"):
        gray = np.clip(np.asarray(img, dtype=np.float32), 0, 255)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode == "PA":
        img = img.convert("RGBA")
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as (H, W, 3) float32 RGB in 0..255; ImageError (one line) if it cannot be read."""
    array = to_rgb_array(_open(path))
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ImageError(f"{os.fspath(path)}: the image is empty ({array.shape[1]}x{array.shape[0]})")
    return array


def preprocess(image: np.ndarray, mean_pixel: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """RGB 0..255 -> network input: the mean pixel subtracted."""
    return np.asarray(image, dtype=dtype) - np.asarray(mean_pixel, dtype=dtype)


def unprocess(image: np.ndarray, mean_pixel: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """Network input -> RGB 0..255 (not clipped)."""
    return np.asarray(image, dtype=dtype) + np.asarray(mean_pixel, dtype=dtype)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip to 0..255 and truncate to 8 bits, as the original does."""
    return np.clip(np.asarray(image), 0, 255).astype(np.uint8)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB 0..255 image to (height, width) with Pillow's bicubic filter."""
    height, width = size
    if height < 1 or width < 1:
        raise ImageError(f"cannot resize an image to {width}x{height}")
    if image.shape[:2] == (height, width):
        return np.asarray(image)
    img = Image.fromarray(to_uint8(image)).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32)


def resize_to_width(image: np.ndarray, width: int) -> np.ndarray:
    """--width: the given width, height floor(h / w * width) (at least 1)."""
    h, w = image.shape[:2]
    return resize(image, (max(1, math.floor(float(h) / w * width)), width))


def scale_style(style: np.ndarray, content_width: int, style_scale: float = 1.0) -> np.ndarray:
    """Resize a style image by style_scale * content_width / style_width."""
    h, w = style.shape[:2]
    target_width = style_scale * content_width
    return resize(style, (max(1, int(h * target_width / w)), max(1, int(target_width))))


def format_for(path: str | os.PathLike) -> str:
    """The Pillow format an output's extension names; ImageError if none."""
    name = os.fspath(path)
    ext = os.path.splitext(name)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        raise ImageError(f"{name}: the extension {ext or '(none)'!r} names no image format Pillow can write")
    return fmt


def check_output(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Fail early (ImageError) if an image could not be written at ``path``."""
    fmt = format_for(path)
    try:  # some formats Pillow can write take no RGB (XBM, Palm): find out now, not after the run
        Image.new("RGB", (1, 1)).save(io.BytesIO(), format=fmt)
    except (OSError, ValueError, KeyError) as exc:
        raise ImageError(f"{os.fspath(path)}: cannot be written as an RGB {fmt} image ({exc})") from None
    check_writable(path, overwrite)


def check_writable(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Fail early (ImageError) if no file could be written at ``path``, or one exists there."""
    name = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(name))
    if os.path.isdir(name):
        raise ImageError(f"{name}: is a directory")
    if not os.path.isdir(directory):
        raise ImageError(f"{name}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ImageError(f"{name}: the directory {directory} is not writable")
    if os.path.exists(name) and not overwrite:
        raise ImageError(f"{name} already exists; pass --overwrite to replace it")


def save_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Save as 8-bit RGB in the format the extension names, via a temporary file and a rename."""
    save_pil_image(path, Image.fromarray(to_uint8(image)).convert("RGB"))


def save_pil_image(path: str | os.PathLike, img: Image.Image) -> None:
    """Save a Pillow image in the format the extension names, via a temporary file and a rename."""
    name = os.fspath(path)
    fmt = format_for(name)
    directory = os.path.dirname(os.path.abspath(name))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(name)}.", suffix=".tmp")
    try:
        os.fchmod(fd, _new_file_mode(name))  # mkstemp makes 0600; an image is for others to read too
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _new_file_mode(name: str) -> int:
    """The replaced file's mode, or what the umask gives a new file."""
    if os.path.exists(name):
        return os.stat(name).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def preserve_colors(styled: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance (Y) of the styled image with the chroma (Cb, Cr) of the content, as float RGB."""
    styled_u8, content_u8 = to_uint8(styled), to_uint8(content)
    # Rec. 601 luma of the result, made gray, then converted: the later original's steps
    gray = np.dot(styled_u8.astype(np.float32), np.array([0.299, 0.587, 0.114], dtype=np.float32))
    gray_rgb = np.repeat(gray[:, :, None], 3, axis=2).astype(np.uint8)
    luma = np.asarray(Image.fromarray(gray_rgb).convert("YCbCr"))[..., 0]
    combined = np.asarray(Image.fromarray(content_u8).convert("YCbCr")).copy()
    combined[..., 0] = luma
    return np.asarray(Image.fromarray(combined, "YCbCr").convert("RGB"), dtype=np.float32)
