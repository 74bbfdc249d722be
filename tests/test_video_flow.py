"""The video's maths: the warp recovers a known shift and rotation, the masks mark what was hidden, the temporal
loss is the formula (against numpy, and its gradient against finite differences), the warping error."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

pytest.importorskip("cv2", reason="the video extra (opencv-python-headless) is not installed")

import minigrad as mg  # noqa: E402
from minigrad.gradcheck import check_directional  # noqa: E402
from vgg.style.temporal import temporal_loss  # noqa: E402
from vgg.video import flow, measure  # noqa: E402


def _texture(h=64, w=80, seed=0):
    rng = np.random.default_rng(seed)
    gray = ndimage.gaussian_filter(rng.standard_normal((h, w)), 2.0)
    gray = 128 + 50 * gray / gray.std()
    return np.clip(np.repeat(gray[..., None], 3, axis=2), 0, 255)


def _interior(a, margin=10):
    return a[margin:-margin, margin:-margin]


def test_a_known_shift_is_recovered_and_warps_the_previous_frame_onto_the_current():
    previous = _texture()
    current = ndimage.shift(previous, (-2.0, 3.0, 0), order=3, mode="reflect")  # content moves 3 right, 2 up
    pair = flow.pair_flow(previous, current)
    # frame i at p is frame i-1 at p + b(p): b = (-3, +2)
    np.testing.assert_allclose(np.median(_interior(pair.backward), axis=(0, 1)), [-3.0, 2.0], atol=0.1)
    warped = flow.warp(previous, pair.backward)
    assert np.abs(_interior(warped - current)).mean() < 1.5
    assert np.abs(_interior(previous - current)).mean() > 10  # not already equal


def test_a_known_rotation_is_recovered():
    previous = _texture(72, 72, seed=3)
    current = ndimage.rotate(previous, 4.0, axes=(1, 0), reshape=False, order=3, mode="reflect")
    pair = flow.pair_flow(previous, current)
    warped = flow.warp(previous, pair.backward)
    assert np.abs(_interior(warped - current, 14)).mean() < 2.0
    assert np.abs(_interior(previous - current, 14)).mean() > 10
    # the expected backward flow at a point off-centre: rotating it back by 4 degrees (ndimage turns the
    # picture by +4 degrees in these axes, so a point of the current frame came from 4 degrees the other way)
    y, x, c = 20, 52, (72 - 1) / 2
    angle = np.deg2rad(4.0)
    dx, dy = x - c, y - c
    source = (c + np.cos(angle) * dx - np.sin(angle) * dy, c + np.sin(angle) * dx + np.cos(angle) * dy)
    np.testing.assert_allclose(pair.backward[y, x], [source[0] - x, source[1] - y], atol=0.35)


def test_the_composed_flow_of_a_turning_clip_brings_its_first_frame_onto_its_last():
    """Four turns of 3 degrees: the pairs' backward flows chained (each sampled where the one after points), not
    summed, make the backward flow of a 12 degree turn, which warps frame 0 onto frame 4 in one resampling."""
    first = _texture(72, 72, seed=4)
    frames = [ndimage.rotate(first, 3.0 * k, axes=(1, 0), reshape=False, order=3, mode="reflect") for k in range(5)]
    composed = flow.composed_backward(frames)
    assert flow.composed_backward(frames[:1]) is None
    assert np.abs(_interior(flow.warp(first, composed) - frames[4], 16)).mean() < 3.2  # summed flows: 4.1
    assert np.abs(_interior(first - frames[4], 16)).mean() > 10
    y, x, c = 20, 52, (72 - 1) / 2
    angle, dx, dy = np.deg2rad(12.0), x - c, y - c
    source = (c + np.cos(angle) * dx - np.sin(angle) * dy, c + np.sin(angle) * dx + np.cos(angle) * dy)
    np.testing.assert_allclose(composed[y, x], [source[0] - x, source[1] - y], atol=0.5)


def _scene_with_square(left):
    frame = _texture(60, 90, seed=5)
    square = _texture(20, 20, seed=9)[..., ::-1] * 0.5 + 100
    frame[20:40, left : left + 20] = square
    return frame


def test_the_region_the_moving_object_uncovers_is_masked_and_the_static_background_is_not():
    previous, current = _scene_with_square(30), _scene_with_square(38)  # the square moves 8 px right
    pair = flow.pair_flow(previous, current)
    uncovered = pair.weights[24:36, 31:37]  # background now, behind the square before
    assert uncovered.max() < 0.1
    assert (pair.labels[24:36, 31:37] != flow.RELIABLE).all()
    background = pair.weights[2:12, :]  # the whole width, the first and last columns too
    assert background.min() > 0.99


def test_pixels_whose_source_is_outside_the_previous_frame_are_masked():
    previous = _texture()
    current = ndimage.shift(previous, (0, 4.0, 0), order=3, mode="reflect")  # a pan: new columns enter on the left
    labels = flow.pair_flow(previous, current).labels
    assert (labels[:, :3] == flow.UNRELIABLE).all()
    assert (_interior(labels) == flow.RELIABLE).mean() > 0.95


def _fake_net(dtype=np.float64):
    return SimpleNamespace(mean_pixel=np.array([123.68, 116.779, 103.939]), dtype=np.dtype(dtype), xp=np)


def test_the_temporal_loss_is_gamma_over_d_times_the_weighted_squares():
    rng = np.random.default_rng(0)
    h, w, gamma = 5, 7, 250.0
    warped = rng.uniform(0, 255, (h, w, 3))
    weights = rng.uniform(0, 1, (h, w))
    weights[0] = 0
    x = rng.uniform(-120, 120, (1, h, w, 3))
    term = temporal_loss(_fake_net(), warped, weights, gamma)
    value = float(term(mg.Tensor(x)).numpy())
    expected = gamma / (h * w * 3) * (weights[None, :, :, None] * (x - (warped - _fake_net().mean_pixel)) ** 2).sum()
    assert value == pytest.approx(expected, rel=1e-12)
    image = mg.Tensor(x.copy(), requires_grad=True)
    term(image).backward()
    gradient = 2 * gamma / (h * w * 3) * weights[None, :, :, None] * (x - (warped - _fake_net().mean_pixel))
    np.testing.assert_allclose(image.grad, gradient, rtol=1e-10, atol=1e-12)
    check_directional(term, [x])


def test_the_temporal_loss_refuses_weights_of_another_size():
    with pytest.raises(ValueError, match="differ in size"):
        temporal_loss(_fake_net(), np.zeros((4, 5, 3)), np.ones((4, 6)), 1.0)


def test_the_warping_error_is_zero_for_a_perfectly_warped_clip_and_counts_only_reliable_pixels():
    previous = _texture()
    current_content = ndimage.shift(previous, (0, 3.0, 0), order=3, mode="reflect")
    pair = flow.pair_flow(previous, current_content)
    consistent = flow.warp(previous, pair.backward)
    assert measure.pair_error(previous, consistent, pair.backward, pair.labels).mae < 1e-3
    shaken = consistent + 10.0
    error = measure.pair_error(previous, shaken, pair.backward, pair.labels)
    assert error.mae == pytest.approx(10.0, abs=1e-3) and error.mse01 == pytest.approx((10 / 255) ** 2, rel=1e-3)
    garbage_where_unreliable = consistent.copy()
    garbage_where_unreliable[pair.labels != flow.RELIABLE] = 0
    assert measure.pair_error(previous, garbage_where_unreliable, pair.backward, pair.labels).mae < 1e-3
