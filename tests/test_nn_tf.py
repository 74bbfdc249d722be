"""conv2d, the pools, relu, l2_loss and small style-transfer composites, value and gradient, against
TensorFlow on fixed-seed float32 cases (tolerance 1e-4 relative): odd sizes, strides 1 and 2, kernels
1 to 5 and non-square, SAME and VALID, all-negative and tied inputs into max-pool.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from tf_reference import Case, Input, assert_unique_ids, case, check_case, dims

import minigrad as mg

# ---- nn ops -----------------------------------------------------------------------

NN_CASES = [
    case("relu", mg.relu, lambda tf, x: tf.nn.relu(x), (3, 7)),
    case("relu-exact-zeros", mg.relu, lambda tf, x: tf.nn.relu(x), Input((2, 5, 6, 3), "zeros")),
    case("relu-all-negative", mg.relu, lambda tf, x: tf.nn.relu(x), Input((4, 5), "negative")),
    case("relu-ties", mg.relu, lambda tf, x: tf.nn.relu(x), Input((4, 5), "ties")),
    case("l2_loss-vec", mg.l2_loss, lambda tf, x: tf.nn.l2_loss(x), (7,)),
    case("l2_loss-mat", mg.l2_loss, lambda tf, x: tf.nn.l2_loss(x), (3, 4)),
    case("l2_loss-4d", mg.l2_loss, lambda tf, x: tf.nn.l2_loss(x), (2, 5, 6, 3)),
    case("l2_loss-zeros", mg.l2_loss, lambda tf, x: tf.nn.l2_loss(x), Input((3, 5), "zeros")),
]

CONV_KERNELS = [(1, 1), (2, 2), (3, 3), (5, 5), (3, 1), (2, 3), (1, 3)]
CONV_IMAGES = [(1, 7, 9), (2, 8, 8), (1, 9, 7), (2, 5, 6), (1, 6, 11)]  # N, H, W
CONV_CHANNELS = [(1, 1), (3, 4), (2, 16), (16, 3), (5, 2), (16, 16)]  # Cin, Cout


def conv_case(n: int, h: int, w: int, cin: int, kernel: tuple[int, int], cout: int, stride: Any, padding: str) -> Case:
    strides = [1, *stride, 1] if isinstance(stride, tuple) else [1, stride, stride, 1]
    return case(
        f"conv-x{n}x{h}x{w}x{cin}-w{kernel[0]}x{kernel[1]}x{cin}x{cout}-s{stride}-{padding}".replace(" ", ""),
        lambda x, k: mg.conv2d(x, k, stride=stride, padding=padding),
        lambda tf, x, k: tf.nn.conv2d(x, k, strides=strides, padding=padding),
        (n, h, w, cin),
        (*kernel, cin, cout),
    )


def conv_bias_case(shape: tuple[int, ...], kernel: tuple[int, ...], stride: int, padding: str, bias: Input) -> Case:
    return case(
        f"conv-bias-x{dims(shape)}-w{dims(kernel)}-s{stride}-{padding}-{'grad' if bias.grad else 'const'}",
        lambda x, k, b: mg.conv2d(x, k, stride, padding, bias=b),
        lambda tf, x, k, b: tf.nn.bias_add(tf.nn.conv2d(x, k, stride, padding), b),
        shape,
        kernel,
        bias,
    )


CONV_BIAS_CASES = [
    conv_bias_case((1, 7, 9, 3), (1, 1, 3, 4), 1, "SAME", Input((4,))),  # the 1x1 GEMM path
    conv_bias_case((2, 7, 9, 3), (3, 3, 3, 5), 1, "SAME", Input((5,))),  # 3 channels: shifted GEMMs too
    conv_bias_case((1, 7, 9, 4), (3, 2, 4, 3), 2, "VALID", Input((3,))),
    conv_bias_case((1, 7, 9, 16), (3, 3, 16, 16), 1, "SAME", Input((16,))),  # shifted GEMMs
    conv_bias_case((2, 6, 5, 16), (5, 5, 16, 17), 1, "VALID", Input((17,))),
    conv_bias_case((1, 7, 9, 16), (3, 3, 16, 16), 1, "SAME", Input((16,), grad=False)),
]


def _conv_cases() -> list[Case]:
    cases = []
    combos = itertools.product(CONV_KERNELS, (1, 2), ("SAME", "VALID"))
    for i, (kernel, stride, padding) in enumerate(combos):
        n, h, w = CONV_IMAGES[i % len(CONV_IMAGES)]
        cin, cout = CONV_CHANNELS[i % len(CONV_CHANNELS)]
        cases.append(conv_case(n, h, w, cin, kernel, cout, stride, padding))
    cases += [
        conv_case(1, 7, 9, 3, (3, 3), 4, (1, 2), "SAME"),
        conv_case(2, 7, 9, 2, (3, 2), 3, (2, 1), "VALID"),
        conv_case(1, 8, 7, 2, (3, 3), 2, 3, "SAME"),
        conv_case(1, 3, 4, 2, (5, 5), 3, 1, "SAME"),  # kernel larger than the image
        conv_case(1, 7, 7, 4, (1, 1), 5, 2, "SAME"),
        conv_case(2, 8, 8, 16, (3, 3), 16, 1, "SAME"),
        conv_case(1, 7, 9, 16, (5, 5), 16, 1, "SAME"),  # 25 taps: 25 shifted GEMMs
        conv_case(2, 5, 6, 16, (2, 3), 17, 1, "SAME"),
        conv_case(1, 9, 7, 17, (1, 3), 16, 1, "VALID"),
        conv_case(1, 3, 4, 16, (5, 5), 16, 1, "SAME"),
    ]
    return cases


POOL_CONFIGS = [
    (2, 2, "SAME"),
    (2, 2, "VALID"),
    (3, 2, "SAME"),
    (3, 2, "VALID"),
    (3, 1, "SAME"),
    (3, 1, "VALID"),
    (2, 1, "SAME"),
    ((2, 3), (1, 2), "SAME"),
    ((3, 2), (2, 3), "VALID"),
    (2, 3, "SAME"),  # stride larger than the window: cells no window covers
    (1, 1, "VALID"),
]
POOL_IMAGES = [(1, 7, 9, 2), (2, 8, 6, 3), (1, 5, 5, 1)]
MAX_POOL_KINDS = ("normal", "negative", "ties")


def pool_case(name: str, shape: tuple[int, ...], size: Any, stride: Any, padding: str, kind: str) -> Case:
    ours = mg.max_pool if name == "max_pool" else mg.avg_pool
    theirs = "max_pool2d" if name == "max_pool" else "avg_pool2d"
    return case(
        f"{name}-{dims(shape)}-k{size}-s{stride}-{padding}-{kind}".replace(" ", ""),
        lambda x: ours(x, size=size, stride=stride, padding=padding),
        lambda tf, x: getattr(tf.nn, theirs)(x, ksize=size, strides=stride, padding=padding),
        Input(shape, kind),
    )


def _pool_cases() -> list[Case]:
    cases = []
    for i, ((size, stride, padding), kind) in enumerate(itertools.product(POOL_CONFIGS, MAX_POOL_KINDS)):
        cases.append(pool_case("max_pool", POOL_IMAGES[i % len(POOL_IMAGES)], size, stride, padding, kind))
    for i, (size, stride, padding) in enumerate(POOL_CONFIGS):
        for shape in (POOL_IMAGES[i % 3], POOL_IMAGES[(i + 1) % 3]):
            cases.append(pool_case("avg_pool", shape, size, stride, padding, "normal"))
    return cases


# ---- composites: the shapes of style transfer -------------------------------------


def _net_mg(x: mg.Tensor, w1: mg.Tensor, w2: mg.Tensor, w3: mg.Tensor) -> mg.Tensor:
    h = mg.max_pool(mg.relu(mg.conv2d(x, w1)), 2, 2, "SAME")
    h = mg.avg_pool(mg.conv2d(h, w2, stride=1, padding="VALID"), 2, 2, "SAME")
    return mg.l2_loss(h.reshape(1, -1) @ w3)


def _net_tf(tf: Any, x: Any, w1: Any, w2: Any, w3: Any) -> Any:
    h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME")), 2, 2, "SAME")
    h = tf.nn.avg_pool2d(tf.nn.conv2d(h, w2, 1, "VALID"), 2, 2, "SAME")
    return tf.nn.l2_loss(tf.reshape(h, (1, -1)) @ w3)


def _style_mg(x: mg.Tensor, w: mg.Tensor, target: mg.Tensor) -> mg.Tensor:
    f = mg.relu(mg.conv2d(x, w))
    _, h, wd, c = f.shape
    flat = f.reshape(h * wd, c)
    gram = (flat.T @ flat) / float(h * wd * c)
    tv = mg.l2_loss(x[:, 1:, :, :] - x[:, :-1, :, :]) + mg.l2_loss(x[:, :, 1:, :] - x[:, :, :-1, :])
    return 2.0 * mg.l2_loss(gram - target) / float(target.size) + 0.01 * tv


def _style_tf(tf: Any, x: Any, w: Any, target: Any) -> Any:
    f = tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME"))
    _, h, wd, c = f.shape
    flat = tf.reshape(f, (h * wd, c))
    gram = tf.matmul(flat, flat, transpose_a=True) / float(h * wd * c)
    tv = tf.nn.l2_loss(x[:, 1:, :, :] - x[:, :-1, :, :]) + tf.nn.l2_loss(x[:, :, 1:, :] - x[:, :, :-1, :])
    return 2.0 * tf.nn.l2_loss(gram - target) / float(np.prod(target.shape)) + 0.01 * tv


COMPOSITE_CASES = [
    case("relu-into-max_pool", lambda x: mg.max_pool(mg.relu(x), 3, 1, "SAME"),
         lambda tf, x: tf.nn.max_pool2d(tf.nn.relu(x), 3, 1, "SAME"), (1, 7, 9, 3)),
    # views in, views out: sliced and transposed inputs, a transposed upstream gradient
    case("conv-of-a-slice", lambda x, w: mg.conv2d(x[:, 1:, :-1, :], w),
         lambda tf, x, w: tf.nn.conv2d(x[:, 1:, :-1, :], w, 1, "SAME"), (1, 8, 9, 16), (3, 3, 16, 16)),
    case("conv-of-a-transpose", lambda x, w: mg.conv2d(x.transpose(0, 2, 1, 3), w, 1, "VALID"),
         lambda tf, x, w: tf.nn.conv2d(tf.transpose(x, (0, 2, 1, 3)), w, 1, "VALID"), (2, 7, 6, 16), (2, 3, 16, 16)),
    case("conv-then-transpose", lambda x, w: mg.conv2d(x, w).transpose(0, 2, 1, 3),
         lambda tf, x, w: tf.transpose(tf.nn.conv2d(x, w, 1, "SAME"), (0, 2, 1, 3)), (1, 6, 7, 16), (3, 3, 16, 16)),
    case("max_pool-of-a-transpose", lambda x: mg.max_pool(x.transpose(0, 2, 1, 3), 3, 2, "SAME"),
         lambda tf, x: tf.nn.max_pool2d(tf.transpose(x, (0, 2, 1, 3)), 3, 2, "SAME"), (1, 7, 9, 2)),
    # one upstream gradient array handed to two consumers (Add passes it through unchanged)
    case("residual-conv", lambda x, w: mg.conv2d(x, w) + x,
         lambda tf, x, w: tf.nn.conv2d(x, w, 1, "SAME") + x, (1, 7, 9, 16), (3, 3, 16, 16)),
    case("residual-pools", lambda x: mg.max_pool(x, 3, 1, "SAME") + mg.avg_pool(x, 3, 1, "SAME") + x,
         lambda tf, x: tf.nn.max_pool2d(x, 3, 1, "SAME") + tf.nn.avg_pool2d(x, 3, 1, "SAME") + x, (1, 7, 9, 3)),
    case("residual-relu", lambda x: mg.relu(x) + x * 2.0, lambda tf, x: tf.nn.relu(x) + x * 2.0,
         Input((3, 7), "zeros")),
    case("net", _net_mg, _net_tf, (1, 9, 7, 3), (3, 3, 3, 4), (2, 3, 4, 5), (10, 3)),
    case("style-gram-tv", _style_mg, _style_tf, (1, 7, 9, 3), (3, 3, 3, 4), Input((4, 4), grad=False)),
]  # fmt: skip

ALL_CASES = NN_CASES + _conv_cases() + CONV_BIAS_CASES + _pool_cases() + COMPOSITE_CASES


@pytest.mark.parametrize("c", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_matches_tensorflow(c: Case, xp, tf) -> None:
    check_case(c, xp)


def test_case_ids_are_unique() -> None:
    assert_unique_ids(ALL_CASES)


CONV_ONLY = _conv_cases() + CONV_BIAS_CASES


@pytest.mark.parametrize("c", CONV_ONLY, ids=[c.id for c in CONV_ONLY])
def test_general_conv_path_matches_tensorflow(c: Case, xp, tf, monkeypatch) -> None:
    """The same conv cases through im2col, which stride-1 convs (but 1x1 ones) otherwise never take."""
    from minigrad.kernels import conv

    monkeypatch.setattr(conv, "SHIFTED_GEMMS", False)
    check_case(c, xp, prefix="general-")


def test_shifted_gemms_over_two_row_chunks_match_tensorflow(xp, tf) -> None:
    """conv_taps works through CHUNK_ROWS output rows at a time on numpy: an image big enough for two."""
    from minigrad.kernels import conv_taps

    c = case(
        "conv-two-row-chunks",
        lambda x, k, b: mg.conv2d(x, k, bias=b),
        lambda tf, x, k, b: tf.nn.bias_add(tf.nn.conv2d(x, k, 1, "SAME"), b),
        (1, 130, 131, 3),
        (3, 3, 3, 8),
        (8,),
    )
    wide_rows = 130 * (131 + 2)  # output rows times the padded width, forward and input gradient alike
    assert wide_rows > conv_taps.CHUNK_ROWS
    check_case(c, xp)
