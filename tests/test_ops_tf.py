"""Every op, value and gradient, against TensorFlow on fixed-seed float32 cases (tolerance 1e-4 relative).

Each case is one expression written twice, for minigrad and for TensorFlow (``theirs=None`` means the
expression uses only operators and indexing, so the very same lambda runs in both engines).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from tf_reference import Input, assert_matches, compare_with_tf, load_tf, relative_error

import minigrad as mg


@dataclass(frozen=True)
class Case:
    id: str
    ours: Callable[..., mg.Tensor]
    theirs: Callable[..., Any] | None
    inputs: tuple[Input, ...]


def dims(shape: tuple[int, ...]) -> str:
    """A shape for a test id: (2, 3, 4) -> 2x3x4, () -> scalar."""
    return "x".join(map(str, shape)) or "scalar"


def case(id_: str, ours: Callable, theirs: Callable | None, *inputs: Input | tuple[int, ...]) -> Case:
    specs = tuple(i if isinstance(i, Input) else Input(i) for i in inputs)
    return Case(id_, ours, theirs, specs)


# ---- elementwise ------------------------------------------------------------------

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((2, 3, 4), (3, 1)),
    ((1, 4), (3, 1)),
    ((2, 1, 5), (1, 3, 1)),
    ((2, 3), ()),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}
FUNCTIONAL = {"add": mg.add, "sub": mg.sub, "mul": mg.mul, "div": mg.div}


def _binary_cases() -> list[Case]:
    cases = []
    for (name, op), (sa, sb) in itertools.product(BINARY.items(), BROADCAST_SHAPES):
        b = Input(sb, "nonzero" if name == "div" else "normal")
        cases.append(case(f"{name}-{dims(sa)}-{dims(sb)}", op, None, Input(sa), b))
    for name, fn in FUNCTIONAL.items():
        b = Input((5,), "nonzero" if name == "div" else "normal")
        cases.append(case(f"mg.{name}", fn, lambda tf, x, y, op=BINARY[name]: op(x, y), Input((3, 5)), b))
        const = Input((3, 1), "nonzero", grad=False)  # a constant operand: no gradient asked for it
        cases.append(case(f"{name}-const-operand", BINARY[name], None, Input((3, 5)), const))
    return cases


SCALAR_CASES = [
    case("x+2.5", lambda x: x + 2.5, None, (3, 5)),
    case("2.5+x", lambda x: 2.5 + x, None, (3, 5)),
    case("x-1.5", lambda x: x - 1.5, None, (3, 5)),
    case("1.5-x", lambda x: 1.5 - x, None, (3, 5)),
    case("x*-0.75", lambda x: x * -0.75, None, (3, 5)),
    case("-0.75*x", lambda x: -0.75 * x, None, (3, 5)),
    case("x/3", lambda x: x / 3.0, None, (3, 5)),
    case("3/x", lambda x: 3.0 / x, None, Input((3, 5), "nonzero")),
    case("x*x", lambda x: x * x, None, (4, 3)),
    case("x/x-x", lambda x: x / x - x, None, Input((4, 3), "nonzero")),
    case("neg", lambda x: -x, None, (3, 5)),
    case("neg-4d", lambda x: -x, None, (2, 3, 4, 5)),
    case("mg.neg", mg.neg, lambda tf, x: -x, (7,)),
]

POW_POSITIVE = (2, 3, 0.5, -1, 1.5, -2.0, 1)
POW_CASES = [case(f"pow{p}-positive", lambda x, p=p: x**p, None, Input((3, 5), "positive")) for p in POW_POSITIVE]
POW_CASES += [case(f"pow{p}-signed", lambda x, p=p: x**p, None, Input((2, 3, 4), "nonzero")) for p in (2, 3, -1)]

# ---- reductions and shapes --------------------------------------------------------

AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2)]


def _reduce_cases() -> list[Case]:
    cases = []
    for axis, keep in itertools.product(AXES, (False, True)):
        tf_axis = list(axis) if isinstance(axis, tuple) else axis
        cases.append(
            case(
                f"sum-{axis}-{keep}".replace(" ", ""),
                lambda x, a=axis, k=keep: x.sum(axis=a, keepdims=k),
                lambda tf, x, a=tf_axis, k=keep: tf.reduce_sum(x, axis=a, keepdims=k),
                (2, 3, 5),
            )
        )
        cases.append(
            case(
                f"mean-{axis}-{keep}".replace(" ", ""),
                lambda x, a=axis, k=keep: x.mean(axis=a, keepdims=k),
                lambda tf, x, a=tf_axis, k=keep: tf.reduce_mean(x, axis=a, keepdims=k),
                (2, 3, 5),
            )
        )
    cases.append(case("mg.sum", lambda x: mg.sum(x, axis=1), lambda tf, x: tf.reduce_sum(x, axis=1), (4, 3)))
    cases.append(case("mg.mean", mg.mean, lambda tf, x: tf.reduce_mean(x), (4, 3)))
    return cases


SHAPE_CASES = [
    case("reshape-6x4", lambda x: x.reshape(6, 4), lambda tf, x: tf.reshape(x, (6, 4)), (2, 3, 4)),
    case("reshape-4x-1", lambda x: x.reshape((4, -1)), lambda tf, x: tf.reshape(x, (4, -1)), (2, 3, 4)),
    case("reshape-flat", lambda x: x.reshape(-1), lambda tf, x: tf.reshape(x, (-1,)), (2, 3, 4)),
    case("mg.reshape", lambda x: mg.reshape(x, (3, 8)), lambda tf, x: tf.reshape(x, (3, 8)), (2, 3, 4)),
    case("reshape-hw-c", lambda x: x.reshape(-1, 3), lambda tf, x: tf.reshape(x, (-1, 3)), (1, 5, 7, 3)),
    case("transpose-default", lambda x: x.transpose(), lambda tf, x: tf.transpose(x), (2, 3, 4)),
    case("transpose-021", lambda x: x.transpose(0, 2, 1), lambda tf, x: tf.transpose(x, (0, 2, 1)), (2, 3, 4)),
    case("transpose-201", lambda x: x.transpose((2, 0, 1)), lambda tf, x: tf.transpose(x, (2, 0, 1)), (2, 3, 4)),
    case(
        "transpose-0312",
        lambda x: mg.transpose(x, 0, 3, 1, 2),
        lambda tf, x: tf.transpose(x, (0, 3, 1, 2)),
        (2, 3, 5, 4),
    ),
    case("transpose-.T", lambda x: x.T, lambda tf, x: tf.transpose(x), (3, 5)),
]

SLICES = {
    "[:,1:,:,:]": lambda x: x[:, 1:, :, :],
    "[:,:,:-1,:]": lambda x: x[:, :, :-1, :],
    "[:,:-1,:,:]": lambda x: x[:, :-1, :, :],
    "[:,:,1:,:]": lambda x: x[:, :, 1:, :],
    "[1:]": lambda x: x[1:],
    "[:,::2]": lambda x: x[:, ::2],
    "[...,1]": lambda x: x[..., 1],
    "[0]": lambda x: x[0],
    "[:,1:4,2:,:2]": lambda x: x[:, 1:4, 2:, :2],
    "tv-h": lambda x: x[:, 1:, :, :] - x[:, :-1, :, :],
    "tv-w": lambda x: x[:, :, 1:, :] - x[:, :, :-1, :],
}
SLICE_CASES = [case(f"slice{name}", fn, None, (2, 5, 6, 3)) for name, fn in SLICES.items()]

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 7), (7, 1)),
    ((5, 1), (1, 6)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
]
MATMUL_CASES = [case(f"matmul-{dims(sa)}@{dims(sb)}", lambda a, b: a @ b, None, sa, sb) for sa, sb in MATMUL_SHAPES]
MATMUL_CASES += [
    case("mg.matmul", mg.matmul, lambda tf, a, b: tf.matmul(a, b), (3, 6), (6, 2)),
    case("gram-by-matmul", lambda f: f.T @ f, lambda tf, f: tf.matmul(f, f, transpose_a=True), (12, 5)),
    case("matmul-const-b", lambda a, b: a @ b, None, (4, 3), Input((3, 2), grad=False)),
]
MATMUL_CASES += [
    case(f"mg.gram-{dims(shape)}", mg.gram, lambda tf, f: tf.matmul(f, f, transpose_a=True), shape)
    for shape in ((12, 5), (1, 7), (7, 1), (35, 16))
]
MATMUL_CASES += [
    case("mg.gram-of-a-transpose", lambda f: mg.gram(f.T), lambda tf, f: tf.matmul(f, f, transpose_b=True), (5, 12))
]

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
    conv_bias_case((2, 7, 9, 3), (3, 3, 3, 5), 1, "SAME", Input((5,))),  # im2col
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
        conv_case(1, 7, 9, 16, (5, 5), 16, 1, "SAME"),  # 16+ channels at stride 1: the shifted-GEMM path
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

ALL_CASES = (
    _binary_cases()
    + SCALAR_CASES
    + POW_CASES
    + _reduce_cases()
    + SHAPE_CASES
    + SLICE_CASES
    + MATMUL_CASES
    + NN_CASES
    + _conv_cases()
    + CONV_BIAS_CASES
    + _pool_cases()
    + COMPOSITE_CASES
)


@pytest.fixture(scope="module")
def tf():
    return load_tf()


@pytest.mark.parametrize("c", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_matches_tensorflow(c: Case, xp, tf) -> None:
    theirs = c.theirs if c.theirs is not None else (lambda _tf, *args: c.ours(*args))
    compare_with_tf(c.id, c.ours, theirs, c.inputs, xp)


def test_case_ids_are_unique(xp) -> None:
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_comparison_flags_a_small_error(xp) -> None:
    """The yardstick itself: 2e-4 relative off must fail, 5e-5 must pass, a nan must fail."""
    ref = np.linspace(-3, 3, 12).astype(np.float32)
    bad = ref.copy()
    bad[4] += 6e-4
    assert relative_error(bad, ref) == pytest.approx(2e-4, rel=1e-2)
    with pytest.raises(AssertionError, match="differs from TensorFlow"):
        assert_matches("sanity", bad, ref, record=False)
    assert_matches("sanity", ref + np.float32(1.5e-4), ref, record=False)
    with pytest.raises(AssertionError):
        assert_matches("sanity", np.full_like(ref, np.nan), ref, record=False)
