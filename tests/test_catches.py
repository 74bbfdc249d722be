"""Tests for bugs a mutation review planted and the suite let through: each test here fails when its bug is put
back (the docstring says which). Constants come from the literature or the README, never from the module under
test, so that a changed constant is caught too."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PIL import Image, ImageOps

import minigrad as mg
from minigrad import line_search
from minigrad.optim import LBFGS
from vgg import Run, random_vgg19
from vgg.files import images
from vgg.files.state import load_state, save_state
from vgg.style.loop import Checkpoint, End

ARMIJO_C1, CURVATURE_C2 = 1e-4, 0.9  # Nocedal and Wright's usual constants, as the module's docstring says


# ---- the strong-Wolfe search ---------------------------------------------------------------------------


def test_the_wolfe_constants_are_the_usual_ones() -> None:
    """A changed C1 or C2 (say 1e-3 or 0.1) changes every accepted step: caught here, with independent values."""
    assert (line_search.C1, line_search.C2) == (ARMIJO_C1, CURVATURE_C2)


def test_when_evaluations_run_out_the_search_returns_the_lowest_armijo_point_it_tried() -> None:
    """Bug: returning the last trial (or the first Armijo point) instead of the lowest one."""
    values = {0.0: (1.0, -1.0), 1.0: (0.7, -2.0), 3.0: (0.2, -1.0), 9.0: (0.5, -0.8)}  # slopes never flatten
    trials = []

    def phi(t: float) -> tuple[float, float]:
        trials.append(t)
        return values.get(round(t, 6), (0.9, -0.5))

    search = line_search.StrongWolfe(phi, 1.0, -1.0, max_evaluations=3)
    search.evaluate(1.0), search.evaluate(3.0), search.evaluate(9.0)  # noqa: B018 - what a run would have tried
    best = search.best
    assert (best.t, best.f) == (3.0, 0.2)  # lower than the last trial, 9.0 (f 0.5)
    assert best.f <= 1.0 + ARMIJO_C1 * best.t * -1.0


def test_a_point_above_the_armijo_line_is_never_the_best_even_when_lowest() -> None:
    """Bug: keeping the lowest f without the sufficient-decrease condition."""
    search = line_search.StrongWolfe(lambda t: (1.0 - 1e-6 * t, -1.0), 1.0, -1.0, max_evaluations=2)
    search.evaluate(5.0)  # f = 0.999995 > 1 - 1e-4 * 5 * 1 = 0.9995: too little decrease
    assert search.best.t == 0.0


def _first_of_two(self, t):
    """A search that tries t and 2t and accepts t: it ends on a point other than its last trial."""
    accepted = self.evaluate(t)
    self.evaluate(2 * t)
    return accepted


def test_lbfgs_lands_on_the_accepted_point_even_when_it_was_not_the_last_trial(monkeypatch) -> None:
    """Bug: leaving the parameters at the search's last trial point instead of at the accepted one."""
    monkeypatch.setattr(line_search.StrongWolfe, "__call__", _first_of_two)
    x0, weights = np.array([3.0, -2.0]), np.array([1.0, 4.0])
    x = mg.Tensor(x0.copy(), requires_grad=True)

    def closure() -> float:
        x.grad = 2 * weights * x.data
        return float((weights * x.data**2).sum())

    loss = closure()
    g = x.grad.copy()
    LBFGS([x], lr=1.0, line_search="strong_wolfe").step(closure, loss)
    t = min(1.0, 1.0 / np.abs(g).sum())  # the first step: d = -g, scaled by 1 / |g|_1
    np.testing.assert_allclose(x.data, x0 - t * g, rtol=1e-15)


def test_the_loop_reads_the_loss_of_the_accepted_point_not_of_the_last_trial(net, monkeypatch) -> None:
    """Bug: the loop reusing the search's last trial losses when the search accepted another point."""
    monkeypatch.setattr(line_search.StrongWolfe, "__call__", _first_of_two)
    content, style = _scene()
    run = Run(net, content, [style], iterations=3, seed=1, optimizer="lbfgs", line_search="strong_wolfe")
    reads = [e for e in run.events() if type(e).__name__ == "LossesRead"]
    with mg.no_grad():
        now = run.stage.objective(run.stage.image).read()[0]["total"]
    assert reads[-1].losses["total"] == pytest.approx(now, rel=1e-6)


def test_lbfgs_after_a_zero_gradient_scales_the_next_step_as_a_first_step() -> None:
    """Bug: after a zero gradient, going on from the step before it (its pair, its unit step) instead of starting
    over with lr * min(1, 1/|g|_1) * -g."""
    x = mg.Tensor(np.array([1.0, 1.0, 1.0]), requires_grad=True)
    optimizer = LBFGS([x], lr=1.0, history_size=5)
    x.grad = np.array([0.5, 0.25, -0.25])
    optimizer.step()  # a first step: x moves by -g (|g|_1 = 1)
    x.grad = np.array([0.0, 0.0, 0.0])
    optimizer.step()  # nowhere to go
    before = x.data.copy()
    g = np.array([4.0, -2.0, 6.0])  # |g|_1 = 12
    x.grad = g.copy()
    optimizer.step()
    np.testing.assert_allclose(x.data - before, -g / 12.0, rtol=1e-15)


# ---- reductions over several axes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, axis, keepdims",
    [((2, 3, 4), (0, 2), False), ((2, 3, 4), (1, 2), True), ((2, 3, 4, 5), (0, 3), False),
     ((2, 3, 4, 5), (1, 2), True), ((2, 3, 4, 5), (0, 1, 3), False), ((2, 3, 4, 5), (-1, -3), True)],
)  # fmt: skip
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reductions_over_several_axes_against_numpy_and_finite_differences(rng, shape, axis, keepdims, op) -> None:
    """Bug: a reduction's backward that broadcasts the gradient along the wrong axes for 3-D and 4-D inputs."""
    x0 = rng.standard_normal(shape)
    weights = rng.standard_normal(getattr(np, op)(x0, axis=axis, keepdims=keepdims).shape)
    x = mg.Tensor(x0.copy(), requires_grad=True)
    y = getattr(x, op)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(y.data, getattr(np, op)(x0, axis=axis, keepdims=keepdims), rtol=1e-13)
    (y * mg.Tensor(weights)).sum().backward()
    expected = np.zeros(shape)
    eps = 1e-6
    for index in np.ndindex(shape):  # central differences of sum(weights * op(x))
        up, down = x0.copy(), x0.copy()
        up[index] += eps
        down[index] -= eps
        f = lambda v: float((weights * getattr(np, op)(v, axis=axis, keepdims=keepdims)).sum())  # noqa: E731
        expected[index] = (f(up) - f(down)) / (2 * eps)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6, atol=1e-9)


# ---- resume and the best images ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def net():
    return random_vgg19(seed=0, channel_scale=1 / 16)


def _scene():
    rng = np.random.default_rng(3)
    return rng.uniform(0, 255, (12, 16, 3)).astype(np.float32), rng.uniform(0, 255, (12, 16, 3)).astype(np.float32)


def test_a_resume_keeps_the_best_and_the_finite_best_apart(net, tmp_path) -> None:
    """Bug: restoring the best image at the checkpoints from the finite-best one (or the other way round).

    With checkpoints every 3 iterations and a learning rate that makes the loss bounce, the best image at the
    checkpoints and the best image read back (every iteration) differ, and the end is the checkpoints' best."""
    content, style = _scene()
    settings = {"iterations": 9, "checkpoint_iterations": 3, "seed": 2, "learning_rate": 80.0}
    straight = Run(net, content, [style], **settings)
    events = list(straight.events())
    end = events[-1]
    assert isinstance(end, End)
    run = Run(net, content, [style], **settings)
    for event in run.events():
        if isinstance(event, Checkpoint) and event.i == 3:
            save_state(tmp_path / "s.npz", run.state(), {})
            break
    arrays, _ = load_state(tmp_path / "s.npz")
    assert float(arrays["best_loss"]) != float(arrays["finite_loss"]), "the case is not exercised"
    resumed = list(Run(net, content, [style], resume=arrays, **settings).events())
    np.testing.assert_array_equal(resumed[-1].image, end.image)


def test_lbfgs_with_the_search_ends_on_the_same_image_whatever_the_read_back_interval(net) -> None:
    """Bug: the search's f(0) taken from a stale read-back when the loss was not read after the last step."""
    content, style = _scene()
    settings = {"iterations": 7, "seed": 4, "optimizer": "lbfgs", "line_search": "strong_wolfe"}
    ends = [list(Run(net, content, [style], readback_every=k, **settings).events())[-1].image for k in (1, 3, 10)]
    np.testing.assert_array_equal(ends[0], ends[1])
    np.testing.assert_array_equal(ends[0], ends[2])


# ---- the download: the README's "resumed up to three times in the same run" ----------------------------


@pytest.mark.parametrize("cuts, finished", [(3, True), (4, False)])
def test_a_transfer_cut_three_times_still_finishes_in_one_run(tmp_path, capsys, monkeypatch, cuts, finished):
    """Bug: one attempt fewer than the README promises (three resumes, four requests in all)."""
    from local_http import SHA, fetch, isolate, serving, url_of

    isolate(monkeypatch, tmp_path)
    with serving() as server:
        server.behaviour.cuts, server.behaviour.cut_after = cuts, 50_000  # of 300 000 bytes: never done before
        code, err = fetch(capsys, url_of(server), tmp_path / "vgg.mat", "--sha256", SHA)
        assert (code == 0) is finished, err
        assert len(server.behaviour.ranges) == 4


# ---- a huge photo turned by its EXIF orientation -------------------------------------------------------


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_a_huge_turned_jpeg_is_decoded_small_and_the_right_way_round(tmp_path, monkeypatch, orientation) -> None:
    """Bug: draft mode asked for the width along the stored (unturned) axis of a photo whose EXIF turns it.

    Stored 40 wide and 160 high, turned by 90 degrees: 160 wide, 40 high. --width 20 needs the turned width 20,
    the stored height 20: 1/8 scale. Asked along the stored axes it needs 80 stored columns: no reduction at all."""
    stored = np.zeros((160, 40, 3), np.uint8)
    stored[:80] = 250  # the stored top half bright
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    with Image.open(path) as full:
        expected = np.asarray(ImageOps.exif_transpose(full).reduce(8), np.float32)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 6400 pixels: "huge", only a reduced decode is allowed
    out = images.load_image(path, width=20)
    assert out.shape == (5, 20, 3)
    np.testing.assert_allclose(out, expected, atol=40)  # JPEG's own 1/8 decode, not a box filter


def test_a_stream_is_never_opened_on_a_pipe_even_one_made_after_the_checks(tmp_path) -> None:
    """Bug: opening the run log or loss file blocking, so a pipe that appeared after the checks hangs the run."""
    from vgg.files import atomic

    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    for overwrite, append in ((True, False), (False, True)):
        outcome = {}

        def opening(overwrite=overwrite, append=append, outcome=outcome):
            try:
                atomic.open_stream(str(fifo), overwrite, append)
            except OSError as exc:
                outcome["error"] = str(exc)

        thread = threading.Thread(target=opening, daemon=True)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "opening a pipe with no reader waits for one"
        assert "not a regular file" in outcome.get("error", ""), outcome


def test_the_refusal_never_advises_a_width_the_network_refuses(tmp_path, capsys, monkeypatch) -> None:
    """Bug: advising the largest width that fits even when it is below the smallest the network takes."""
    from cli_inputs import cli_argv, run_cli, write_cli_inputs

    from vgg.style import memory

    files = write_cli_inputs(tmp_path, "new")
    monkeypatch.setattr(memory, "available_bytes", lambda backend: 10**6)
    monkeypatch.setattr(memory, "largest_fitting_width", lambda fits, upper: 1)  # only width 1 would fit
    code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.png", 2))
    assert code == 2 and "--width that fits is 1" not in err and "no --width the network takes fits" in err, err
