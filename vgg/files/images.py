"""Image files through Pillow: read as float RGB 0..255 (EXIF orientation applied), saved as 8-bit RGB atomically."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError, OutputExistsError
from ..style.pixels import to_uint8, width_hw
from . import atomic
from .atomic import check_writable

SAVE_OPTIONS = {"JPEG": {"quality": 95}}  # Pillow's save() options by format
# The largest side each format holds, where it is less than Pillow's own (measured with Pillow 13: an image of
# each size saved and read back; the larger ones fail in the encoder, after the run)
MAX_SIDE_OF = {"JPEG": 65500, "MPO": 65500, "WEBP": 16383, "GIF": 65535, "TGA": 65535, "PCX": 65535, "SGI": 65535}

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
    wanted = width_hw((h, w), width)[::-1]
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
        return np.asarray(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.float32)  # one copy, as floats
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


def format_for(path: str | os.PathLike) -> str:
    """The Pillow format an output's extension names; ImageError if none."""
    name = os.fspath(path)
    ext = os.path.splitext(name)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        raise ImageError(f"{name}: the extension {ext or '(none)'!r} names no image format Pillow can write")
    return fmt


def check_output(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Fail early (ImageError) if an RGB image could not be written at ``path``: a format Pillow writes no RGB in
    (XBM, Palm), or a file that is there already (without ``overwrite``). check_size checks the size."""
    fmt = format_for(path)
    try:
        Image.new("RGB", (1, 1)).save(io.BytesIO(), format=fmt)
    except (OSError, ValueError, KeyError) as exc:
        raise ImageError(f"{os.fspath(path)}: cannot be written as an RGB {fmt} image ({exc})") from None
    check_writable(path, overwrite)


def check_size(path: str | os.PathLike, size: tuple[int, int]) -> None:
    """ImageError if the format of ``path`` cannot hold an image of ``size`` (width, height): one past a side
    limit of the format (MAX_SIDE_OF), or a format that keeps only fixed sizes (ICO, ICNS): a blank image of that
    size (of 1025x769 above a megapixel) is written and read back, and must come back as it went."""
    name, fmt, (width, height) = os.fspath(path), format_for(path), size
    limit = MAX_SIDE_OF.get(fmt)
    if limit is not None and max(width, height) > limit:
        raise ImageError(
            f"{name}: a {fmt} image is at most {limit} pixels a side, and this result is {width}x{height}; "
            "choose another format (PNG or TIFF hold any size) or a smaller --width"
        )
    probe, buffer = (size if width * height <= 2**20 else (1025, 769)), io.BytesIO()
    try:
        Image.new("RGB", probe).save(buffer, format=fmt)
        buffer.seek(0)
        with Image.open(buffer) as back:
            kept = back.size
    except Exception:  # noqa: BLE001 - a format Pillow writes but cannot read back (PDF): no size to compare
        return
    if kept != probe:
        raise ImageError(
            f"{name}: a {fmt} file keeps only its own fixed sizes (a {probe[0]}x{probe[1]} image comes back "
            f"{kept[0]}x{kept[1]}), and this result is {width}x{height}; choose another format"
        )


def save_image(path: str | os.PathLike, image: np.ndarray, overwrite: bool = True) -> None:
    """Save as 8-bit RGB in the format the extension names, placed atomically (save_pil_image)."""
    save_pil_image(path, Image.fromarray(to_uint8(image)), overwrite)  # (H, W, 3) uint8: RGB, no converted copy


def save_pil_image(path: str | os.PathLike, img: Image.Image, overwrite: bool = True) -> None:
    """Save a Pillow image in the format the extension names, placed atomically (vgg.files.atomic).

    Without ``overwrite`` an existing file is never replaced (OutputExistsError, the result kept under
    the temporary name it gives); a failed write is an ImageError naming the file.
    """
    name = os.fspath(path)
    fmt = format_for(name)
    try:
        atomic.write_atomic(name, lambda f: img.save(f, format=fmt, **SAVE_OPTIONS.get(fmt, {})), overwrite)
    except OutputExistsError:
        raise
    except OSError as exc:
        raise atomic.write_error(name, exc) from None
