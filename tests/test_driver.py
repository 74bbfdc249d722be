"""The loop as events (vgg.style.loop through vgg.style.run.Run): their order and numbering, the best image at
any time, eager validation."""

from __future__ import annotations

import numpy as np
import pytest
import test_features

import minigrad as mg
from vgg import ConfigError, Run, stylize
from vgg.style.loop import Checkpoint, End, IterationDone, IterationStarted, LossesRead

net, scene = test_features.net, test_features.scene  # a tiny random VGG-19 and a 12x16 content, 10x20 style


def _kinds(events):
    short = {IterationStarted: "S", LossesRead: "L", IterationDone: "D", Checkpoint: "C", End: "E"}
    return "".join(short[type(e)] for e in events)


def test_events_come_in_the_seeds_order_with_one_numbering(net, scene):
    content, style = scene
    run = Run(net, content, [style], iterations=4, checkpoint_iterations=2, print_iterations=3, seed=0)
    events = list(run.events())
    # the start read; each iteration: started, (read after its step), done, (checkpoint at 0 and 2, end at 3)
    assert _kinds(events) == "L" + "SLDC" + "SLD" + "SLDC" + "SLDE"
    assert [e.i for e in events if isinstance(e, LossesRead)] == [0, 1, 2, 3, 4]  # after i steps
    assert [e.i for e in events if isinstance(e, IterationStarted)] == [0, 1, 2, 3]
    assert [e.i for e in events if isinstance(e, Checkpoint)] == [0, 2]
    printed = [e.i for e in events if isinstance(e, IterationStarted) and e.losses is not None]
    assert printed == [0, 3]  # i % 3 == 0, and the last
    reads = {e.i: e.losses for e in events if isinstance(e, LossesRead)}
    started = {e.i: e.losses for e in events if isinstance(e, IterationStarted)}
    assert started[3] == reads[3]  # printed under `Iteration 4/4`: the image after 3 steps


def test_best_image_is_there_at_any_time_and_is_the_best_read(net, scene):
    content, style = scene
    run = Run(net, content, [style], content, iterations=5, learning_rate=200.0)
    assert run.best_image() is None  # nothing evaluated yet
    totals, events = [], run.events()
    for event in events:
        if isinstance(event, LossesRead):
            totals.append(event.losses["total"])
        if isinstance(event, IterationDone) and event.i == 2:
            break
    best = run.best_image()
    assert best.shape == (12, 16, 3) and best.dtype == np.float32
    assert run.stage.tracker.finite_loss == min(totals)


def test_stylize_checks_its_settings_at_the_call(net, scene):
    content, style = scene
    with pytest.raises(ConfigError, match="iterations must be positive"):
        stylize(net, content, [style], iterations=0)  # no next(): the call itself refuses
    with pytest.raises(ConfigError, match="unknown setting 'iteration'"):
        stylize(net, content, [style], iteration=3)


@pytest.mark.parametrize("readback_every", [1, 10])  # 10: the GPU's schedule, the loss not read back each step
def test_the_line_search_loop_runs_no_backward_pass_twice_at_one_point(net, scene, monkeypatch, readback_every):
    content, style = scene
    points, backward = [], mg.Tensor.backward

    def counted(self, *args, **kwargs):
        points.append(run.stage.image.data.tobytes())
        return backward(self, *args, **kwargs)

    monkeypatch.setattr(mg.Tensor, "backward", counted)
    settings = {"optimizer": "lbfgs", "line_search": "strong_wolfe", "readback_every": readback_every}
    run = Run(net, content, [style], iterations=6, seed=0, **settings)
    list(run.events())
    repeated = [k for k in range(1, len(points)) if points[k] == points[k - 1]]
    assert repeated == [] and len(points) >= 6  # each pass at a new point: the accepted trial's is reused
