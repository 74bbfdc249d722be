"""Images: every Pillow mode to float RGB, sizes as the original (docs/REFERENCE.md section 4), atomic 8-bit saves."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from PIL import Image
from synthetic_vgg import sample_image

from vgg.errors import ImageError
from vgg.files import images
from vgg.style import pixels


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
    out = pixels.resize_to_width(content, 20)
    assert out.shape == (14, 20, 3)  # floor(30 / 41 * 20) = 14
    style = sample_image(50, 60)
    assert pixels.scale_style(style, 20).shape == (16, 20, 3)  # factor 20 / 60
    assert pixels.scale_style(style, 20, 2.0).shape == (33, 40, 3)
    np.testing.assert_array_equal(pixels.resize(content, (30, 41)), content)


def test_preprocess_unprocess_roundtrip():
    mean = np.array([123.68, 116.779, 103.939], np.float32)
    img = sample_image(3, 4)
    np.testing.assert_allclose(pixels.unprocess(pixels.preprocess(img, mean), mean), img, atol=1e-4)
    assert pixels.preprocess(img, mean).dtype == np.float32


def test_to_uint8_clips_and_truncates():
    out = pixels.to_uint8(np.array([-5.0, 0.9, 254.99, 300.0]))
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
    out = pixels.preserve_colors(sample_image(4, 5, seed=9), content)
    assert np.abs(out - out[..., :1]).max() <= 1


# ---- photos as they come: EXIF orientation, pixel formats, huge files ----------------------


def _oriented_jpeg(tmp_path, orientation):
    """A 6x10 (w x h) JPEG whose EXIF says how to turn it; its left half black, right half white."""
    pixels = np.zeros((10, 6), np.uint8)
    pixels[:, 3:] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(pixels).convert("RGB").save(path, exif=exif, quality=100)
    return path


@pytest.mark.parametrize(
    "orientation, shape, bright", [(1, (10, 6), "right"), (6, (6, 10), "bottom"), (8, (6, 10), "top")]
)
def test_exif_orientation_is_applied(tmp_path, orientation, shape, bright):
    out = images.load_image(_oriented_jpeg(tmp_path, orientation))[..., 0]
    assert out.shape == shape
    halves = {"right": (out[:, :3], out[:, -3:]), "bottom": (out[:3], out[-3:]), "top": (out[-3:], out[:3])}
    dark, light = halves[bright]
    assert dark.mean() < 30 and light.mean() > 225


def _saved(tmp_path, name, img):
    img.save(tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_sixteen_bit_images_show_as_a_viewer_shows_them(tmp_path, fmt):
    ramp = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    out = images.load_image(_saved(tmp_path, f"deep.{fmt}", Image.fromarray(ramp)))
    np.testing.assert_allclose(out[..., 1], ramp / 257.0, atol=1e-3)


def test_sixteen_bit_image_read_as_32_bit_integers_is_still_scaled():
    wide = Image.fromarray(np.full((2, 2), 51400, np.uint16)).convert("I")
    wide.info["rawmode"] = "I;16B"  # how older Pillow hands out a 16-bit PNG: mode "I", 16-bit raw samples
    np.testing.assert_allclose(images.to_rgb_array(wide), 200.0)


def test_float_images_in_0_to_1_are_scaled_and_others_refused(tmp_path):
    ramp = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    out = images.load_image(_saved(tmp_path, "f.tif", Image.fromarray(ramp, "F")))
    np.testing.assert_allclose(out[..., 2], ramp * 255, atol=1e-3)
    path = _saved(tmp_path, "hdr.tif", Image.fromarray(ramp * 40, "F"))
    with pytest.raises(ImageError, match=r"hdr.tif: float samples must be in 0..1.*0..40"):
        images.load_image(path)


def test_32_bit_integer_images_are_refused_in_one_line(tmp_path):
    path = _saved(tmp_path, "i32.tif", Image.fromarray(np.full((2, 2), 70000, np.int32)))
    with pytest.raises(ImageError, match=r"i32.tif: 32-bit integer samples") as info:
        images.load_image(path)
    assert "\n" not in str(info.value)


def test_cmyk_and_transparent_palette_become_rgb(tmp_path):
    cmyk = Image.new("CMYK", (3, 2), (0, 255, 255, 0))  # pure red
    np.testing.assert_allclose(images.load_image(_saved(tmp_path, "c.jpg", cmyk))[..., 0], 255, atol=3)
    pal = Image.new("P", (2, 2), 1)
    pal.putpalette([0, 0, 0, 10, 200, 30])
    pal.info["transparency"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no Pillow warning escapes
        out = images.load_image(_saved(tmp_path, "p.png", pal))
    np.testing.assert_array_equal(out[0, 0], [10, 200, 30])


def test_decompression_bomb_names_pixels_and_limit(tmp_path, monkeypatch):
    path = _saved(tmp_path, "big.png", Image.new("RGB", (40, 30)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # 1200 pixels: over twice the limit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError) as info:
            images.load_image(path)
    message = str(info.value)
    assert "1,200 pixels" in message and "500" in message and "corrupt" not in message
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # between the limit and twice it: no warning either
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError, match="1,200 pixels"):
            images.load_image(path)


def test_large_jpeg_is_decoded_at_reduced_scale_when_a_smaller_width_is_wanted(tmp_path, monkeypatch):
    path = _saved(tmp_path, "big.jpg", Image.fromarray(sample_image(64, 80).astype(np.uint8)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 5120 pixels
    out = images.load_image(path, width=20)  # 1/4 scale: 20x16
    assert out.shape == (16, 20, 3)
    assert pixels.resize_to_width(out, 20).shape == (16, 20, 3)
    with pytest.raises(ImageError, match="5,120 pixels"):
        images.load_image(path, width=60)
    assert Image.MAX_IMAGE_PIXELS == 2000  # the limit is put back
