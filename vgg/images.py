"""Images through Pillow: read as float RGB 0..255, resize, save as 8-bit RGB atomically."""

from __future__ import annotations

import io
import math
import os
import warnings
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from . import outputs
from .errors import ImageError

# Pillow modes holding 16-bit samples: scaled to 0..255 (ours, not the original's: docs/REFERENCE.md section 4).
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
# How the decoder of an "I" (32-bit integer) image unpacks its samples when they are 16-bit ones
# (16-bit PNG, PGM and TIFF grayscale); any other "I" image holds true 32-bit samples.
_SIXTEEN_BIT_RAW = ("I;16", "I;16B", "I;16L", "I;16N", "I;16S", "I;16BS", "I;16LS")
# EXIF orientations that swap width and height (transpose, 90 degrees, transverse, 270 degrees).
_SWAPS_AXES = (5, 6, 7, 8)


def _open(path: str | os.PathLike, width: int | None = None) -> Image.Image:
    name = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own warnings are never shown; errors say it all
            return _decode(name, width)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a directory, not an image") from None
    except PermissionError as exc:
        raise ImageError(f"{name}: cannot be read ({exc.strerror})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image format Pillow can read (unknown format or damaged header)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from None


def _decode(name: str, width: int | None) -> Image.Image:
    """Open, decode (at reduced scale if too large and a smaller width is wanted), apply EXIF orientation."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # the check is ours, after draft mode had its chance
    try:
        with Image.open(name) as img:
            raw = _rawmode(img)  # before anything decodes the pixels (and drops the tile list)
            if limit and width is not None and img.width * img.height > limit and img.format == "JPEG":
                _draft(img, width, img.getexif().get(ExifTags.Base.Orientation, 1))
            if limit and img.width * img.height > limit:
                raise ImageError(_too_large(name, img.size, limit, width))
            img.load()
            out = ImageOps.exif_transpose(img)  # a copy, turned as the EXIF orientation says
            out.info["rawmode"] = raw
            return out
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _rawmode(img: Image.Image) -> str | None:
    """How the decoder unpacks the samples ('I;16B', 'I;32S', ...), read before decoding."""
    args = img.tile[0][3] if img.tile else None
    return args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else None


def _draft(img: Image.Image, width: int, orientation: int) -> None:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale when --width asks for no more (a no-op elsewhere)."""
    w, h = img.size if orientation not in _SWAPS_AXES else img.size[::-1]
    if width >= w:
        return
    wanted = (width, max(1, math.floor(h / w * width)))
    img.draft(img.mode, wanted if orientation not in _SWAPS_AXES else wanted[::-1])


def _too_large(name: str, size: tuple[int, int], limit: int, width: int | None) -> str:
    hint = "; a smaller --width lets a JPEG be read at reduced scale" if width is None else ""
    return (
        f"{name}: {size[0]}x{size[1]} = {size[0] * size[1]:,} pixels, over the limit of {limit:,} "
        f"(Pillow's guard against decompression bombs){hint}"
    )


def to_rgb_array(img: Image.Image, name: str = "image") -> np.ndarray:
    """(H, W, 3) float32 in 0..255, as a viewer shows it: gray replicated, palette expanded, alpha dropped.

    16-bit samples are scaled to 0..255, float samples in 0..1 times 255; 32-bit integer samples and
    floats outside 0..1 have no one way to be shown and are refused (ImageError).
    """
    if img.mode in _SIXTEEN_BIT or (img.mode == "I" and img.info.get("rawmode") in _SIXTEEN_BIT_RAW):
        gray = np.asarray(img, dtype=np.float32) / np.float32(257.0)
        return np.repeat(np.clip(gray, 0, 255)[:, :, None], 3, axis=2)
    if img.mode == "I":
        raise ImageError(f"{name}: 32-bit integer samples have no standard display range; save it as 8 or 16 bit")
    if img.mode == "F":
        return _float_gray(np.asarray(img, dtype=np.float32), name)
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")
    try:
        return np.asarray(img.convert("RGB"), dtype=np.float32)
    except ValueError:
        raise ImageError(f"{name}: Pillow cannot convert its {img.mode} pixels to RGB") from None


def _float_gray(gray: np.ndarray, name: str) -> np.ndarray:
    low, high = (float(gray.min()), float(gray.max())) if gray.size else (0.0, 0.0)
    if not (np.isfinite(gray).all() and 0 <= low and high <= 1):
        raise ImageError(f"{name}: float samples must be in 0..1 to be shown as an image, found {low:g}..{high:g}")
    return np.repeat((gray * np.float32(255))[:, :, None], 3, axis=2)


def load_image(path: str | os.PathLike, width: int | None = None) -> np.ndarray:
    """An image file as (H, W, 3) float32 RGB in 0..255; ImageError (one line) if it cannot be read.

    The EXIF orientation is applied. ``width``: the width it will be resized to, if known; a JPEG
    larger than Pillow's pixel limit is then decoded at a reduced scale (never below ``width``).
    """
    name = os.fspath(path)
    array = to_rgb_array(_open(name, width), name)
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ImageError(f"{name}: the image is empty ({array.shape[1]}x{array.shape[0]})")
    return array


def preprocess(image: np.ndarray, mean_pixel: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """RGB 0..255 -> network input: the mean pixel subtracted."""
    return np.asarray(image, dtype=dtype) - np.asarray(mean_pixel, dtype=dtype)


def unprocess(image: np.ndarray, mean_pixel: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """Network input -> RGB 0..255 (not clipped)."""
    return np.asarray(image, dtype=dtype) + np.asarray(mean_pixel, dtype=dtype)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip to 0..255 and truncate to 8 bits, as the original does (docs/REFERENCE.md section 3)."""
    return np.clip(np.asarray(image), 0, 255).astype(np.uint8)


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


def save_image(path: str | os.PathLike, image: np.ndarray, overwrite: bool = True) -> None:
    """Save as 8-bit RGB in the format the extension names, via a temporary file (vgg.outputs.place)."""
    save_pil_image(path, Image.fromarray(to_uint8(image)).convert("RGB"), overwrite)


def save_pil_image(path: str | os.PathLike, img: Image.Image, overwrite: bool = True) -> None:
    """Save a Pillow image in the format the extension names, via a temporary file put in place atomically.

    Without ``overwrite`` an existing file is never replaced (OutputExistsError, the result kept under
    the temporary name it gives); a failed write is an ImageError naming the file.
    """
    name = os.fspath(path)
    fmt = format_for(name)
    tmp = None
    try:
        fd, tmp = outputs.temporary_beside(name)
        os.fchmod(fd, _new_file_mode(name))  # mkstemp makes 0600; an image is for others to read too
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
            f.flush()
            os.fsync(f.fileno())
        outputs.place(tmp, name, overwrite)
    except outputs.OutputExistsError:
        raise
    except OSError as exc:
        _remove(tmp)
        raise outputs.write_error(name, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: str | None) -> None:
    if tmp is not None and os.path.exists(tmp):
        os.unlink(tmp)


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
    # Rec. 601 luma, made gray, then converted: the later original's steps (docs/REFERENCE.md section 4),
    # but with the luma of the 8-bit result
    gray = np.dot(styled_u8.astype(np.float32), np.array([0.299, 0.587, 0.114], dtype=np.float32))
    gray_rgb = np.repeat(gray[:, :, None], 3, axis=2).astype(np.uint8)
    luma = np.asarray(Image.fromarray(gray_rgb).convert("YCbCr"))[..., 0]
    combined = np.asarray(Image.fromarray(content_u8).convert("YCbCr")).copy()
    combined[..., 0] = luma
    return np.asarray(Image.fromarray(combined, "YCbCr").convert("RGB"), dtype=np.float32)
