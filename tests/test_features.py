"""The features through the Python API: L-BFGS in the loop, coarse to fine, resume bit for bit, the run log."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from vgg import Run, StyleConfig, random_vgg19, stylize
from vgg.errors import ConfigError, StateError
from vgg.files import state as state_module
from vgg.files.state import load_state, save_state
from vgg.report.listeners import broadcast
from vgg.report.runlog import RunLog
from vgg.style import run as stylize_module
from vgg.style import scales
from vgg.style import timing as estimate
from vgg.style.loop import Checkpoint, End, LossesRead
from vgg.style.schedule import Schedule


@pytest.fixture(scope="module")
def net():
    return random_vgg19(seed=0, channel_scale=1 / 16)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (12, 16, 3)).astype(np.float32), rng.uniform(0, 255, (10, 20, 3)).astype(np.float32)


def totals(events):
    return [e.losses["total"] for e in events if isinstance(e, LossesRead)]


def backend_name(xp):
    return "numpy" if xp is np else "cupy"


# ---- L-BFGS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("line_search", ["none", "strong_wolfe"])
def test_lbfgs_lowers_the_loss_in_the_loop(net, scene, xp, line_search):
    content, style = scene
    net_xp = net.replace(backend=backend_name(xp))
    run = Run(net_xp, content, [style], optimizer="lbfgs", line_search=line_search, iterations=20, seed=0,
              backend=backend_name(xp))  # fmt: skip
    values = totals(run.events())
    assert len(values) == 21 and values[-1] < 0.5 * values[0], values
    if line_search == "strong_wolfe":  # every accepted step decreases the loss (sufficient decrease)
        assert all(b <= a for a, b in zip(values, values[1:])), values


@pytest.mark.parametrize("line_search", ["none", "strong_wolfe"])
def test_lbfgs_from_the_content_with_only_the_content_loss_stays_there(net, scene, line_search):
    # the gradient is exactly zero from the first step: L-BFGS must neither divide by zero nor move
    content, style = scene
    run = Run(net, content, [style], initial=content, optimizer="lbfgs", line_search=line_search, iterations=3,
              style_weight=0.0, tv_weight=0.0, seed=0)  # fmt: skip
    assert totals(run.events()) == [0.0] * 4
    np.testing.assert_allclose(run.best_image(), content, atol=1e-3)  # the mean subtracted and added back


def test_each_optimiser_gets_its_own_learning_rate_unless_one_is_given(net, scene):
    content, style = scene
    for settings, kind, lr in (
        ({}, "Adam", 10.0),
        ({"optimizer": "lbfgs"}, "LBFGS", 1.0),
        ({"optimizer": "lbfgs", "learning_rate": 0.5, "lbfgs_history": 7}, "LBFGS", 0.5),
    ):
        run = Run(net, content, [style], iterations=1, seed=0, **settings)
        next(run.events())
        optimizer = run.stage.optimizer
        assert type(optimizer).__name__ == kind and optimizer.lr == lr
    assert optimizer.memory.pairs.maxlen == 7


# ---- coarse to fine ----------------------------------------------------------------------------------


def test_scales_run_each_width_from_the_previous_result_upsampled(net, scene):
    content, style = scene
    run = Run(net, content, [style], scales=[8, 16], scale_iterations=[3, 2], checkpoint_iterations=10, seed=0)
    seen, previous, events = [], None, []
    for event in run.events():
        events.append(event)
        if isinstance(event, Checkpoint) and event.i == 2:  # the first stage's end
            previous = run.stage.tracker.best.copy()
            assert event.image.shape == (6, 8, 3)  # floor(12 / 16 * 8) x 8
        if isinstance(event, LossesRead) and event.stage == 1 and previous is not None and not seen:
            seen.append(1)
            np.testing.assert_array_equal(run.stage.image.data, scales.upsample(previous, (12, 16)))
    assert seen and [e.i for e in events if isinstance(e, Checkpoint)] == [0, 2]

    assert [e.stage for e in events if isinstance(e, LossesRead)] == [0] * 4 + [1] * 3
    assert events[-1].image.shape == (12, 16, 3) and isinstance(events[-1], End)


def test_between_scales_the_best_image_is_the_last_scales_result(net, scene, monkeypatch):
    content, style = scene
    run = Run(net, content, [style], scales=[8, 16], iterations=2, seed=0, checkpoint_iterations=5)
    real, seen = stylize_module.make_objective, []
    monkeypatch.setattr(stylize_module, "make_objective", lambda *a: seen.append(run.best_image()) or real(*a))
    events = list(run.events())
    stage_end = next(e for e in events if isinstance(e, Checkpoint) and e.i == 1)
    assert seen[0] is None  # nothing yet
    np.testing.assert_array_equal(seen[1], stage_end.image)  # while the second scale makes its targets
    np.testing.assert_array_equal(run.previous_result, events[-1].image)  # the last finished scale: the end


def test_styles_are_resized_against_each_scales_width(net, scene, monkeypatch):
    content, style = scene
    received = []
    real = stylize_module.make_objective
    monkeypatch.setattr(
        stylize_module,
        "make_objective",
        lambda n, c, styles, config, *rest: (
            received.append((c.shape, [s.shape for s in styles])) or real(n, c, styles, config, *rest)
        ),
    )
    list(Run(net, content, [style, style], scales=[8, 16], style_scales=[1.0, 0.5], iterations=1, seed=0).events())
    # style 20 wide, 10 high: scale * content width / 20
    assert received == [((6, 8, 3), [(4, 8, 3), (2, 4, 3)]), ((12, 16, 3), [(8, 16, 3), (4, 8, 3)])]


def test_upsample_keeps_constants_and_the_dtype():
    flat = np.full((1, 3, 4, 3), 7.5, np.float32)
    up = scales.upsample(flat, (6, 8))
    assert up.shape == (1, 6, 8, 3) and up.dtype == np.float32
    np.testing.assert_allclose(up, 7.5, rtol=1e-6)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"scales": [16, 8]}, "ascending"),
        ({"scale_iterations": [2]}, "scale_iterations needs scales"),
        ({"scales": [8, 16], "scale_iterations": [2]}, "scale_iterations: 1 values for 2 widths"),
        ({"optimizer": "sgd"}, "optimizer must be one of adam, lbfgs"),
        ({"lbfgs_history": 0}, "lbfgs_history must be positive"),
        ({"line_search": "armijo"}, "line_search must be one of none, strong_wolfe"),
    ],
)
def test_bad_feature_settings_are_config_errors(net, scene, settings, message):
    content, style = scene
    with pytest.raises(ConfigError, match=message):
        stylize(net, content, [style], **settings)


def test_checkpoint_list_has_each_scales_end():
    assert list(Schedule.of([7], checkpoint_every=3).checkpoints()) == [0, 3]
    config = StyleConfig(scales=[8, 16], scale_iterations=[4, 5], checkpoint_iterations=3)
    schedule = Schedule.of(config.stage_iterations(), checkpoint_every=config.checkpoint_iterations)
    assert config.stage_iterations() == [4, 5] and list(schedule.checkpoints()) == [0, 3, 6]
    assert list(schedule.checkpoints(after=3)) == [6] and list(schedule.checkpoints(after=0)) == [3, 6]
    assert [i for i in range(schedule.n) if schedule.is_checkpoint(i)] == [0, 3, 6]  # never the last (8)


# ---- resume --------------------------------------------------------------------------------------


def _straight_and_state(net, content, style, settings, at, tmp_path):
    path, run = tmp_path / "s.npz", Run(net, content, [style], **settings)
    for event in run.events():
        if isinstance(event, Checkpoint) and event.i == at:
            save_state(path, run.state(), {"network": "test"})
        if isinstance(event, End):
            return event.image, path
    raise AssertionError("no end")


RESUMABLE = {
    "adam": {},
    "lbfgs": {"optimizer": "lbfgs"},
    "lbfgs + strong wolfe": {"optimizer": "lbfgs", "line_search": "strong_wolfe", "lbfgs_history": 3},
    "adam, coarse to fine": {"scales": [8, 16], "scale_iterations": [4, 4]},
    "adam, the best image stays behind": {"learning_rate": 100.0},
}


@pytest.mark.parametrize("case", RESUMABLE)
def test_a_run_resumed_from_its_half_way_state_ends_on_the_same_image_bit_for_bit(net, scene, tmp_path, case):
    content, style = scene
    settings = {"iterations": 8, "checkpoint_iterations": 1, "seed": 3, **RESUMABLE[case]}
    at = 3 if case != "adam, coarse to fine" else 5  # after 4 of 8 steps; in the second scale for scales
    straight, path = _straight_and_state(net, content, style, settings, at, tmp_path)
    if case == "adam, the best image stays behind":  # the premise: the best checkpoint is before the state
        reads = totals(Run(net, content, [style], **settings).events())
        assert int(np.argmin(reads)) <= at, reads
    arrays, meta = load_state(path)
    assert int(arrays["iteration"]) == at and meta["network"] == "test"
    resumed = Run(net, content, [style], resume=arrays, **{**settings, "seed": None})  # the state has the image
    events = list(resumed.events())
    assert [e.i for e in events if isinstance(e, Checkpoint)] == list(range(at + 1, 7))
    np.testing.assert_array_equal(events[-1].image, straight)


def test_a_state_resumes_only_the_settings_it_was_saved_with(net, scene, tmp_path):
    content, style = scene
    settings = {"iterations": 4, "checkpoint_iterations": 1, "seed": 3}
    _, path = _straight_and_state(net, content, style, settings, 1, tmp_path)
    arrays, _ = load_state(path)
    with pytest.raises(ConfigError, match="saved with tv_weight=100.0, not 3.0"):
        Run(net, content, [style], resume=arrays, **settings, tv_weight=3.0)
    Run(net, content, [style], resume=arrays, **{**settings, "seed": None, "print_iterations": 1})  # reports only
    with pytest.raises(StateError, match=r"field image has shape \(1, 12, 16, 3\), the content .* \(1, 12, 15, 3\)"):
        Run(net, content[:, :15], [style], resume=arrays, **settings)  # another content, of another size


# ---- the run log ---------------------------------------------------------------------------------


def test_the_log_holds_the_settings_first_then_every_read_back(net, scene, tmp_path):
    content, style = scene
    run = Run(net, content, [style, style[::-1]], iterations=3, seed=9, style_layers=True, checkpoint_iterations=2)
    log = RunLog(tmp_path / "log.jsonl", run.config, {"network": "n"}, clock=iter(range(100)).__next__)
    events = list(broadcast(run.events(), [log]))
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    head = lines[0]
    assert head["event"] == "start" and head["seed"] == 9 and head["settings"]["iterations"] == 3
    assert {"numpy", "minigrad-style", "python"} <= set(head["versions"]) and head["machine"]["cpus"] >= 1
    reads = [line for line in lines if line["event"] == "losses"]
    assert [r["iteration"] for r in reads] == [e.i for e in events if isinstance(e, LossesRead)]
    assert [r["iteration"] for r in reads] == [0, 1, 2, 3]
    for r in reads:
        assert sum(r["style_layers"].values()) == pytest.approx(r["losses"]["style"], rel=1e-5)
        assert set(r["losses"]) == {"content", "style", "tv", "total"} and r["host_peak_bytes"] > 0
    assert [r["seconds"] for r in reads] == sorted(r["seconds"] for r in reads) and reads[0]["seconds"] > 0
    assert [line["event"] for line in lines if line["event"] not in ("losses",)] == ["start", "checkpoint", "end"]


def test_stream_progress_still_works_with_scales(net, scene):
    content, style = scene
    stream = io.StringIO()
    list(stylize(net, content, [style], scales=[8, 16], iterations=2, print_iterations=1, seed=0, stream=stream))
    assert [x for x in stream.getvalue().splitlines() if x.startswith("Iteration")] == [
        f"Iteration {i}/4" for i in range(1, 5)
    ]


def test_the_flop_count_is_vgg19s():
    # VGG-19 at 224x224: 19.6 G multiply-adds with the fully connected layers (0.124 G), so 19.48 G in
    # its convolutions, less conv5_2..conv5_4 (3 * 14 * 14 * 9 * 512 * 512), which the losses never reach
    conv = 19.48e9 - 3 * 14 * 14 * 9 * 512 * 512
    grams = sum(s * s * c * c for s, c in ((224, 64), (112, 128), (56, 256), (28, 512), (14, 512)))
    # forward and input gradient, two FLOPs a multiply-add
    assert estimate.iteration_flops((224, 224)) == pytest.approx(2 * 2 * (conv + grams), rel=0.01)
    assert estimate.seconds_per_iteration([(224, 224)], "lbfgs", "strong_wolfe", 1e12) == [
        pytest.approx(1.07 * estimate.iteration_flops((224, 224)) / 1e12)  # benchmarks/evaluations.py's count
    ]
    assert estimate.gemm_rate("numpy", seconds=0.01) > 1e6


def test_a_state_is_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "s.state.npz"
    save_state(path, {"image": np.zeros(3)}, {"network": "n"})
    before = path.read_bytes()

    def crash(f, **arrays):  # half an archive, then the process dies
        f.write(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(state_module.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_state(path, {"image": np.ones(3)}, {"network": "n"})
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["s.state.npz"]
