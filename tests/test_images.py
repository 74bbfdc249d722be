"""Images: every Pillow mode to float RGB, resizing as the original, atomic 8-bit saves, clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from synthetic_vgg import sample_image

from vgg import images
from vgg.errors import ImageError


def save(tmp_path, name, img):
    path = tmp_path / name
    img.save(path)
    return str(path)


def test_rgb_image_reads_as_float_rgb(tmp_path):
    rgb = sample_image(5, 7).astype(np.uint8)
    out = images.load_image(save(tmp_path, "a.png", Image.fromarray(rgb)))
    assert out.dtype == np.float32 and out.shape == (5, 7, 3)
    np.testing.assert_array_equal(out, rgb)


def test_grayscale_is_replicated(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = images.load_image(save(tmp_path, "g.png", Image.fromarray(gray, "L")))
    np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))


def test_alpha_is_dropped(tmp_path):
    rgba = np.dstack([sample_image(4, 4).astype(np.uint8), np.full((4, 4), 7, np.uint8)])
    out = images.load_image(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    np.testing.assert_array_equal(out, rgba[:, :, :3])
    la = Image.fromarray(np.dstack([np.full((2, 3), 9, np.uint8), np.zeros((2, 3), np.uint8)]), "LA")
    np.testing.assert_array_equal(images.load_image(save(tmp_path, "la.png", la)), np.full((2, 3, 3), 9))


def test_palette_becomes_rgb(tmp_path):
    rgb = sample_image(6, 6).astype(np.uint8)
    pal = Image.fromarray(rgb).quantize(16)
    out = images.load_image(save(tmp_path, "p.png", pal))
    np.testing.assert_array_equal(out, np.asarray(pal.convert("RGB"), np.float32))
    assert out.shape == (6, 6, 3)


def test_sixteen_bit_grayscale_is_scaled_to_8_bit_range(tmp_path):
    img = Image.fromarray(np.full((2, 2), 65535, np.uint16))
    out = images.load_image(save(tmp_path, "deep.png", img))
    np.testing.assert_allclose(out, 255.0)


def _truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(sample_image(64, 64).astype(np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:300])
    return path


@pytest.mark.parametrize(
    "make, detail",
    [
        (lambda p: p / "missing.png", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "text.png").write_text("hello") and p / "text.png", "not an image format"),
        (_truncated_png, "corrupt or truncated"),
    ],
)
def test_unreadable_images_are_one_line(tmp_path, make, detail):
    path = str(make(tmp_path))
    with pytest.raises(ImageError) as info:
        images.load_image(path)
    assert str(info.value).startswith(path) and detail in str(info.value) and "\n" not in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_permissions(tmp_path):
    path = save(tmp_path, "locked.png", Image.new("RGB", (2, 2)))
    os.chmod(path, 0)
    with pytest.raises(ImageError, match="cannot be read"):
        images.load_image(path)


def test_resize_to_width_and_style_scale():
    content = sample_image(30, 41)
    out = images.resize_to_width(content, 20)
    assert out.shape == (14, 20, 3)  # floor(30 / 41 * 20) = 14
    style = sample_image(50, 60)
    assert images.scale_style(style, 20).shape == (16, 20, 3)  # factor 20 / 60
    assert images.scale_style(style, 20, 2.0).shape == (33, 40, 3)
    np.testing.assert_array_equal(images.resize(content, (30, 41)), content)


def test_preprocess_unprocess_roundtrip():
    mean = np.array([123.68, 116.779, 103.939], np.float32)
    img = sample_image(3, 4)
    np.testing.assert_allclose(images.unprocess(images.preprocess(img, mean), mean), img, atol=1e-4)
    assert images.preprocess(img, mean).dtype == np.float32


def test_to_uint8_clips_and_truncates():
    out = images.to_uint8(np.array([-5.0, 0.9, 254.99, 300.0]))
    np.testing.assert_array_equal(out, [0, 0, 254, 255])
    assert out.dtype == np.uint8


@pytest.mark.parametrize("ext, fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".JPEG", "JPEG"), (".bmp", "BMP")])
def test_save_writes_8_bit_rgb_in_the_extensions_format(tmp_path, ext, fmt):
    path = tmp_path / f"out{ext}"
    images.save_image(path, sample_image(8, 9) + 0.5)
    with Image.open(path) as img:
        assert img.format == fmt and img.mode == "RGB" and img.size == (9, 8)
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    images.save_image(path, np.zeros((4, 4, 3)))
    before = path.read_bytes()

    def broken(self, fp, *args, **kwargs):
        fp.write(b"half an image")
        raise KeyboardInterrupt  # interrupted while writing

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(KeyboardInterrupt):
        images.save_image(path, np.full((4, 4, 3), 255.0))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["out.png"]


def test_check_output(tmp_path):
    images.check_output(tmp_path / "new.png")
    with pytest.raises(ImageError, match="does not exist"):
        images.check_output(tmp_path / "no" / "dir.png")
    with pytest.raises(ImageError, match="names no image format"):
        images.check_output(tmp_path / "out.xyz")
    with pytest.raises(ImageError, match="names no image format"):
        images.check_output(tmp_path / "noext")
    (tmp_path / "old.png").write_bytes(b"x")
    with pytest.raises(ImageError, match="--overwrite"):
        images.check_output(tmp_path / "old.png")
    images.check_output(tmp_path / "old.png", overwrite=True)


def test_preserve_colors_of_gray_content_is_gray():
    content = np.repeat(sample_image(4, 5)[:, :, :1], 3, axis=2)
    out = images.preserve_colors(sample_image(4, 5, seed=9), content)
    assert np.abs(out - out[..., :1]).max() <= 1
