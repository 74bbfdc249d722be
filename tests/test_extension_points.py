"""What a batch and a video build on: style targets computed once and shared between runs, and extra loss terms
that every report shows after the seed's three, with the seed's printing unchanged when there are none."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import minigrad as mg
from vgg import Run, random_vgg19, stylize
from vgg.style import run as run_module
from vgg.style.loop import LossesRead


@pytest.fixture(scope="module")
def net():
    return random_vgg19(seed=0, channel_scale=1 / 16)


def _images(seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (12, 16, 3)).astype(np.float32)


def test_shared_style_targets_are_computed_once_and_give_the_same_runs(net, monkeypatch):
    style = _images(1)
    contents = [_images(2), _images(3), _images(4)[:, :14]]  # two of one size, one of another
    alone = [list(Run(net, c, [style], iterations=3, seed=5).events())[-1].image for c in contents]
    calls = []
    real = run_module.style_grams
    monkeypatch.setattr(run_module, "style_grams", lambda *a: calls.append(a[1].shape) or real(*a))
    cache = {}
    shared = [list(Run(net, c, [style], iterations=3, seed=5, target_cache=cache).events())[-1].image for c in contents]
    for a, b in zip(alone, shared):
        np.testing.assert_array_equal(a, b)
    # the style is resized against each content's width: 16 wide twice (one computation), 14 wide once
    assert len(calls) == 1 and sorted(cache) == [(0, 12, 16)]
    calls.clear()
    styled = [list(Run(net, c, [style], iterations=1, seed=5, target_cache=cache, scales=[8, 16]).events())
              for c in contents[:2]]  # fmt: skip
    assert len(calls) == 1 and styled  # 16 wide was there; 8 wide made once


def test_an_extra_term_is_in_the_total_and_in_every_report(net, tmp_path):
    content, style = _images(2), _images(1)
    target = mg.Tensor(np.zeros((1, 12, 16, 3), np.float32))
    extra = {"pixel": lambda image: 0.5 * mg.l2_loss(image - target)}
    stream, tsv = io.StringIO(), tmp_path / "p.tsv"
    run = Run(net, content, [style], iterations=2, seed=1, extra=extra)
    reads = [e for e in run.events() if isinstance(e, LossesRead)]
    assert list(reads[0].losses) == ["content", "style", "tv", "pixel", "total"]
    values = reads[0].losses
    assert values["total"] == pytest.approx(
        values["content"] + values["style"] + values["tv"] + values["pixel"], rel=1e-6
    )
    list(stylize(net, content, [style], iterations=2, seed=1, extra=extra, stream=stream, progress_write=tsv))
    assert re.search(r"^ {7}tv loss: \S+\n {4}pixel loss: \S+\n {4}total loss: \S+$", stream.getvalue(), re.M)
    assert tsv.read_text().splitlines()[0].split("\t") == ["iteration", "content", "style", "tv", "pixel", "total"]


def test_without_extra_terms_the_printed_lines_are_the_seeds_four(net):
    stream = io.StringIO()
    list(stylize(net, _images(2), [_images(1)], iterations=1, seed=1, stream=stream))
    assert re.findall(r"^ *(\w+) loss:", stream.getvalue(), re.M) == ["content", "style", "tv", "total"]
