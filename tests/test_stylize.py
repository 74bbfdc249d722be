"""The loop: losses and gradient equal TensorFlow's, Adam iterations equal tf.compat.v1's, the printing,
checkpoints, best image, initial image, NaN handling and the settings."""

from __future__ import annotations

import inspect
import io
import re

import numpy as np
import pytest
import tf_vgg_reference as ref
from PIL import Image
from synthetic_vgg import sample_image, write_vgg19_mat

import minigrad as mg
from minigrad import backend as mg_backend
from vgg import StyleConfig, stylize
from vgg.errors import ConfigError, LossNotFiniteError
from vgg.net.load import load_network as load_vgg19
from vgg.report.terminal import Reporter
from vgg.style import loop as driver
from vgg.style import losses
from vgg.style import pixels as images
from vgg.style.run import initial_image, make_objective

RTOL = 1e-4


@pytest.fixture(scope="module")
def mat(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "vgg.mat"
    write_vgg19_mat(path, "new", seed=0)
    return str(path)


@pytest.fixture(scope="module")
def net(mat):
    return load_vgg19(mat, check_release=False)


@pytest.fixture(scope="module")
def scene():
    """content (16x20), two styles at their own sizes."""
    return sample_image(16, 20, seed=1), [sample_image(18, 22, seed=2), sample_image(13, 17, seed=3)]


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def pre(net, image):
    return images.preprocess(image, net.mean_pixel)[None]


def backend_name(xp):
    return "numpy" if xp is np else "cupy"


# ---- losses and gradient against TensorFlow ---------------------------------------------------------

FLAG_CASES = {
    "defaults": {},
    "avg_pool_blend_exp": {"pooling": "avg", "content_weight_blend": 0.3, "style_layer_weight_exp": 2.0},
    "two_styles_weights": {"style_blend_weights": [1.0, 3.0], "tv_weight": 1e3, "content_weight": 20.0},
}


@pytest.mark.parametrize("case", FLAG_CASES)
def test_loss_and_gradient_equal_tensorflow(mat, net, scene, xp, case):
    settings = dict(FLAG_CASES[case])
    content, styles = scene
    styles = styles if "style_blend_weights" in settings else styles[:1]
    config = StyleConfig(**settings, backend=backend_name(xp))
    model = net.replace(pooling=config.pooling, backend=config.backend)
    objective = make_objective(model, content, styles, config)
    x0 = initial_image(content, None, net.mean_pixel, StyleConfig(seed=4, initial_noiseblend=0.5))
    image = mg.Tensor(xp.asarray(x0), requires_grad=True)
    ours = objective(image)
    ours.total.backward()
    settings["style_blend_weights"] = config.blend_weights(len(styles))
    theirs, grad = ref.loss_and_grad(mat, pre(net, content), [pre(net, s) for s in styles], x0, **settings)
    for key, value in ours.values().items():
        assert abs(value - theirs[key]) <= RTOL * abs(theirs[key]), key
    assert rel(mg_backend.to_numpy(image.grad), grad) <= RTOL


def test_the_objectives_default_weights_are_style_configs():
    defaults = {k: v.default for k, v in inspect.signature(losses.Objective).parameters.items()}
    config = StyleConfig()
    for name in ("content_weight", "content_weight_blend", "style_weight", "style_layer_weight_exp", "tv_weight"):
        assert defaults[name] == getattr(config, name), name
    assert (config.content_weight, config.style_weight, config.tv_weight) == (5.0, 100.0, 100.0)  # the seed's


def test_default_weights_are_the_seeds():
    assert losses.style_layer_weights(1.0) == dict.fromkeys(losses.STYLE_LAYERS, 1.0)
    assert losses.content_layer_weights(1.0) == {"relu4_2": 1.0}  # relu5_2 is never computed
    weights = losses.style_layer_weights(2.0)
    assert weights["relu2_1"] == 2 * weights["relu1_1"] and sum(weights.values()) == pytest.approx(5.0)
    assert StyleConfig().blend_weights(4) == [0.25] * 4
    assert StyleConfig(style_blend_weights=[1, 3]).blend_weights(2) == [0.25, 0.75]


# ---- the loop against tf.compat.v1.train.AdamOptimizer -------------------------------------------


def _compare(net, ours, printed, theirs):
    assert [it for it, _ in ours] == [it for it, _ in theirs["best"]]
    for got, want in zip(printed, theirs["losses"]):
        for key in want:  # %g keeps 6 digits: 5e-6 of rounding at most
            assert abs(got[key] - want[key]) <= RTOL * abs(want[key]), key
    worst = 0.0
    for (_, image), (_, best) in zip(ours, theirs["best"]):
        worst = max(worst, rel(pre(net, image), best))
    assert worst <= RTOL
    return worst


def test_adam_iterations_equal_tensorflow_from_the_content(mat, net, scene):
    content, styles = scene
    x0 = pre(net, content)
    ours, printed, theirs = ref.run_both(mat, net, content, styles[0], x0, 5)
    assert len(printed) == 5
    _compare(net, ours, printed, theirs)


def test_adam_iterations_equal_tensorflow_from_noise_with_other_adam_settings(mat, net, scene):
    content, styles = scene
    x0 = initial_image(content, None, net.mean_pixel, StyleConfig(seed=3))
    settings = {"learning_rate": 2.0, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}
    ours, printed, theirs = ref.run_both(mat, net, content, styles[0], x0, 3, **settings)
    _compare(net, ours, printed, theirs)


# ---- printing, checkpoints, best image ----------------------------------------------------------------


def test_printing_is_the_originals(net, scene):
    content, styles = scene
    stream = io.StringIO()
    list(stylize(net, content, styles[:1], content, iterations=5, print_iterations=3, stream=stream))
    lines = stream.getvalue().splitlines()
    assert [line for line in lines if line.startswith("Iteration")] == [f"Iteration {i}/5" for i in range(1, 6)]
    # losses at i % 3 == 0 (i = 0, 3) and at the last iteration, each right after its Iteration line
    assert [lines[i - 1] for i, line in enumerate(lines) if "content loss" in line] == [
        "Iteration 1/5",
        "Iteration 4/5",
        "Iteration 5/5",
    ]
    assert len(ref.LOSS_LINES.findall(stream.getvalue())) == 3


def test_printed_losses_are_of_the_image_before_the_step(net, scene):
    content, styles = scene
    stream = io.StringIO()
    list(stylize(net, content, styles[:1], content, iterations=1, stream=stream))
    objective = losses.Objective(net, pre(net, content), [pre(net, styles[0])], [1.0])
    with mg.no_grad():
        expected = objective(mg.Tensor(pre(net, content))).values()
    (printed,) = ref.printed_losses(stream.getvalue())
    assert printed == {k: float("%g" % v) for k, v in expected.items()}  # noqa: UP031


def test_checkpoints_and_best_image(net, scene):
    content, styles = scene
    # a learning rate so large that the loss goes up after a few steps: the best image stays behind
    stream = io.StringIO()
    run = list(
        stylize(
            net,
            content,
            styles[:1],
            content,
            iterations=7,
            checkpoint_iterations=2,
            print_iterations=1,
            learning_rate=200.0,
            stream=stream,
        )
    )
    assert [it for it, _ in run] == [0, 2, 4, None]
    totals = [g["total"] for g in ref.printed_losses(stream.getvalue())]  # totals[i] = loss before step i
    checkpoint_losses = [totals[1], totals[3], totals[5]]  # after steps 0, 2, 4
    best_at = int(np.argmin(checkpoint_losses))
    np.testing.assert_array_equal(run[-2][1], run[best_at][1])  # the same best image carried on
    assert all(img.shape == (16, 20, 3) and img.dtype == np.float32 for _, img in run)


def test_generator_works_without_checkpoints(net, scene):
    content, styles = scene
    run = list(stylize(net, content, styles[:1], iterations=2, seed=0, stream=io.StringIO()))
    assert len(run) == 1 and run[0][0] is None


# ---- the initial image --------------------------------------------------------------------------


def test_noise_std_is_0256_to_a_tolerance_that_tells_it_from_025(net):
    content = sample_image(256, 256)  # 196608 samples: the std's standard error is 0.0004
    noise = initial_image(content, None, net.mean_pixel, StyleConfig(seed=11))
    assert abs(float(noise.std()) - 0.256) < 0.002  # 0.25 is 15 standard errors away


def test_noise_is_gaussian_with_std_0256_and_reproducible(net, scene):
    content = sample_image(64, 80)
    a = initial_image(content, None, net.mean_pixel, StyleConfig(seed=7))
    b = initial_image(content, None, net.mean_pixel, StyleConfig(seed=7))
    c = initial_image(content, None, net.mean_pixel, StyleConfig(seed=8))
    assert a.shape == (1, 64, 80, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(float(a.std()) - 0.256) < 0.01 and abs(float(a.mean())) < 0.01


def test_initial_image_and_noiseblend(net):
    content, initial = sample_image(10, 12, seed=1), sample_image(20, 24, seed=2)
    given = initial_image(content, initial, net.mean_pixel, StyleConfig(seed=1))
    np.testing.assert_array_equal(given, pre(net, images.resize(initial, (10, 12))))  # resized, no noise
    half = initial_image(content, None, net.mean_pixel, StyleConfig(seed=1, initial_noiseblend=0.5))
    noise = initial_image(content, None, net.mean_pixel, StyleConfig(seed=1))
    np.testing.assert_allclose(half, 0.5 * pre(net, content) + 0.5 * noise, rtol=1e-5, atol=1e-4)


def test_seeded_runs_are_identical(net, scene):
    content, styles = scene
    one = list(stylize(net, content, styles[:1], iterations=2, seed=5, stream=io.StringIO()))
    two = list(stylize(net, content, styles[:1], iterations=2, seed=5, stream=io.StringIO()))
    np.testing.assert_array_equal(one[-1][1], two[-1][1])


# ---- NaN, colours, settings, backend -------------------------------------------------------------


def test_non_finite_loss_stops_with_the_best_finite_image(net, scene):
    content, styles = scene
    with pytest.raises(LossNotFiniteError) as info:
        list(stylize(net, content, styles[:1], content, iterations=5, learning_rate=1e38, stream=io.StringIO()))
    err = info.value
    assert err.iteration == 0 and "by iteration 1" in str(err)
    np.testing.assert_allclose(err.image, content, atol=1e-3)  # the initial image was the best finite one
    assert np.isfinite(err.loss)


def test_a_run_that_improves_then_diverges_keeps_the_best_finite_step(net, scene, monkeypatch):
    content, styles = scene
    settings = {"iterations": 9, "learning_rate": 10.0, "print_iterations": 1}
    stream = io.StringIO()
    list(stylize(net, content, styles[:1], content, **settings, stream=stream))
    totals = [g["total"] for g in ref.printed_losses(stream.getvalue())]  # totals[k]: after k steps
    real_step, steps = driver._step, []

    def step_then_blow_up(stage, losses, *rest):  # the image becomes infinite at the 7th step
        reused = real_step(stage, losses, *rest)
        steps.append(1)
        if len(steps) == 7:
            stage.image.data[...] = np.inf
            return None  # the losses of a line search's last trial are not the infinite image's
        return reused

    monkeypatch.setattr(driver, "_step", step_then_blow_up)
    with pytest.raises(LossNotFiniteError) as info:
        list(stylize(net, content, styles[:1], content, **settings, stream=io.StringIO()))
    best = int(np.argmin(totals[:7]))  # finite for 6 steps (images after 0..6 steps)
    assert 1 <= best < 6, totals  # it improved, and then got worse before it blew up
    monkeypatch.setattr(driver, "_step", real_step)
    settings["iterations"] = best
    after_best = list(stylize(net, content, styles[:1], content, **settings, stream=io.StringIO()))[-1][1]
    assert info.value.iteration == 6 and info.value.loss == pytest.approx(totals[best], rel=1e-5)
    np.testing.assert_array_equal(info.value.image, after_best)


def _ycbcr(image):
    return np.asarray(Image.fromarray(images.to_uint8(image)).convert("YCbCr"), np.float32)


def test_preserve_colors_keeps_the_contents_chroma(net, scene):
    content, styles = scene
    run = stylize(net, content, styles[:1], content, iterations=2, preserve_colors=True, stream=io.StringIO())
    image = list(run)[-1][1]
    chroma_diff = np.abs(_ycbcr(image)[..., 1:] - _ycbcr(content)[..., 1:])
    assert np.mean(chroma_diff <= 1) >= 0.9 and chroma_diff.mean() < 1  # RGB gamut clipping moves a few
    gray = np.repeat(content.mean(axis=2, keepdims=True).round(), 3, axis=2)
    run = stylize(net, gray, styles[:1], gray, iterations=2, preserve_colors=True, stream=io.StringIO())
    image = list(run)[-1][1]
    assert np.abs(image - image[..., :1]).max() <= 1  # a gray content gives a gray result


def _mean_diff(a, b):
    return float(np.abs(a - b).mean())


def test_preserve_colors_takes_the_styled_luminance_and_the_contents_chroma(net, scene):
    content, styles = scene
    settings = {"iterations": 2, "seed": 3, "stream": io.StringIO()}  # from noise: far from the content
    styled = list(stylize(net, content, styles[:1], **settings))[-1][1]
    settings["stream"] = io.StringIO()
    kept = list(stylize(net, content, styles[:1], preserve_colors=True, **settings))[-1][1]
    y_styled, y_content, y_kept = _ycbcr(styled), _ycbcr(content), _ycbcr(kept)
    assert (
        _mean_diff(y_styled[..., 0], y_content[..., 0]) > 10 and _mean_diff(y_styled[..., 1:], y_content[..., 1:]) > 10
    )
    # 8-bit luma and RGB gamut clipping move a few levels (about 1.4 on average here)
    assert _mean_diff(y_kept[..., 0], y_styled[..., 0]) < 3  # the luminance is the stylised image's
    assert _mean_diff(y_kept[..., 1:], y_content[..., 1:]) < 3  # the chroma is the content's


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"iterations": 0}, "iterations must be positive"),
        ({"style_blend_weights": [1.0, 2.0]}, "style_blend_weights: 2 weights for 1 styles"),
        ({"pooling": "min"}, "pooling"),
        ({"initial_noiseblend": 1.5}, "initial_noiseblend"),
        ({"checkpoint_iterations": -1}, "checkpoint_iterations"),
        ({"beta1": 1.0}, "beta1"),
    ],
)
def test_bad_settings_are_one_line(net, scene, settings, message):
    content, styles = scene
    with pytest.raises(ConfigError, match=re.escape(message)):
        next(stylize(net, content, styles[:1], **settings))


def test_runs_on_each_backend(net, scene, xp):
    content, styles = scene
    run = list(stylize(net, content, styles[:1], iterations=2, seed=1, backend=backend_name(xp), stream=io.StringIO()))
    assert run[-1][1].shape == (16, 20, 3) and isinstance(run[-1][1], np.ndarray)


def _printed_losses(text: str) -> list[float]:
    return [float(line.split(":")[1]) for line in text.splitlines() if "loss:" in line]


def test_numpy_and_the_backend_under_test_agree(net, scene, xp):
    """Same seed, same printed losses (rel 1e-4 at the first iteration) and final image, on each backend."""
    if xp is np:
        pytest.skip("compares numpy with another backend; numpy against itself proves nothing")
    content, styles = scene
    runs = {}
    for backend in ("numpy", backend_name(xp)):
        stream = io.StringIO()
        image = list(stylize(net, content, styles[:1], iterations=3, seed=2, print_iterations=1,
                             backend=backend, stream=stream))[-1][1]  # fmt: skip
        runs[backend] = _printed_losses(stream.getvalue()), image
    (losses_np, image_np), (losses_xp, image_xp) = runs["numpy"], runs[backend_name(xp)]
    assert len(losses_np) == len(losses_xp) == 12
    assert rel(losses_xp[:4], losses_np[:4]) <= RTOL
    assert rel(losses_xp, losses_np) <= 1e-3 and rel(image_xp, image_np) <= 1e-3


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_status_on_a_terminal_is_erased_before_the_originals_lines():
    ticks = iter(range(100))
    stream = _Terminal()
    reporter = Reporter(stream, "auto", clock=lambda: float(next(ticks)) * 30)
    for i in range(3):
        reporter.iteration(i, 3)
        if i == 2:
            reporter.losses({"content": 1.5, "style": 2e8, "tv": 3.0, "total": 2.00000045e8})
        reporter.status(i, 3)
    reporter.close()
    text = stream.getvalue()
    assert "1/3, 30 sec elapsed, 1 min 0 sec remaining" in text  # 30 s a step, 2 steps left after the first
    visible = re.sub(r"\r\x1b\[K|\r\[[#.]+\][^\r]*\x1b\[K", "", text)  # what stays on screen
    assert visible == (
        "Iteration 1/3\nIteration 2/3\nIteration 3/3\n"
        "  content loss: 1.5\n    style loss: 2e+08\n       tv loss: 3\n    total loss: 2e+08\n"
    )
    plain = io.StringIO()
    Reporter(plain, "auto").status(0, 3)
    assert plain.getvalue() == ""  # not a terminal: the original's lines only (docs/REFERENCE.md section 3)
