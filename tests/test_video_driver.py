"""The per-video driver through its Python API: the temporal loss makes consecutive frames agree where the flow is
reliable, a chunk keeps only its own frames after its lead-in, and the flows computed in worker processes are the
ones computed here."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
pytest.importorskip("cv2", reason="the video extra (opencv-python-headless) is not installed")

from video_inputs import clip, write_clip  # noqa: E402

from vgg import StyleConfig, random_vgg19  # noqa: E402
from vgg.video import measure  # noqa: E402
from vgg.video.driver import VideoStylizer, compute_flows  # noqa: E402
from vgg.video.settings import VideoSettings  # noqa: E402
from vgg.video.source import open_source  # noqa: E402
from vgg.video.work import WorkFolder  # noqa: E402


@pytest.fixture(scope="module")
def net():
    return random_vgg19(seed=0, channel_scale=1 / 16)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = write_clip(tmp_path_factory.mktemp("driver") / "in.mp4", clip(12, 32, 48))
    return open_source(str(path), "video", None, None)


def _style():
    return np.random.default_rng(7).uniform(0, 255, (32, 48, 3)).astype(np.float32)


def _stylise(net, source, folder, weight, **where):
    work = WorkFolder(str(folder / f"out{weight}.mp4"))
    work.open({"weight": weight}, overwrite=False)
    settings = VideoSettings(temporal_weight=weight, frame_iterations=6, flow_workers=0, flow_preset="ultrafast")
    stylizer = VideoStylizer(net, source, [_style()], StyleConfig(iterations=10, seed=2), settings, work)
    stylizer.flows(**where)
    done = list(stylizer.frames(**where))
    return work, done


def test_the_temporal_loss_makes_consecutive_frames_agree_where_the_flow_is_reliable(net, source, tmp_path):
    errors = {}
    for weight in (0.0, 1e6):
        work, _ = _stylise(net, source, tmp_path, weight)
        frames = [work.load_frame(k) for k in range(source.count)]
        errors[weight] = np.mean([e.mae for e in measure.clip_errors(frames, list(source.frames()), "ultrafast")])
    assert errors[1e6] < 0.5 * errors[0.0], errors


def test_a_chunk_keeps_only_its_frames_after_its_lead_in(net, source, tmp_path):
    work, done = _stylise(net, source, tmp_path, 1e3, start=6, end=10, lead=3)
    assert [(d.index, d.kept) for d in done] == [(3, False), (4, False), (5, False), (6, True), (7, True), (8, True),
                                                 (9, True)]  # fmt: skip
    assert work.done() == {6, 7, 8, 9}
    # a kept frame's flow is dropped once it is placed; a lead frame's is left for the previous chunk's frame
    assert [k for k in range(12) if work.has_flow(k)] == [4, 5]


def test_flows_computed_in_worker_processes_are_the_flows_computed_here(source, tmp_path):
    here, there = WorkFolder(str(tmp_path / "a.mp4")), WorkFolder(str(tmp_path / "b.mp4"))
    for work in (here, there):
        work.open({}, overwrite=False)
    indices = list(range(1, source.count))
    assert compute_flows(source, here, indices, "ultrafast", workers=0).pairs == 11
    assert compute_flows(source, there, indices, "ultrafast", workers=2).pairs == 11
    assert compute_flows(source, there, indices, "ultrafast", workers=2).pairs == 0  # kept: not computed again
    for k in indices:
        for a, b in zip(here.load_flow(k), there.load_flow(k)):
            np.testing.assert_array_equal(a, b)


def test_chunk_ranges_cover_the_clip_once_and_each_is_longer_than_its_lead():
    from vgg.errors import ConfigError
    from vgg.video.chunks import chunk_ranges

    assert chunk_ranges(24, 8, 4) == [(0, 8), (8, 16), (16, 24)]
    assert chunk_ranges(26, 8, 4) == [(0, 8), (8, 16), (16, 26)]  # a tail of 2 joins the last chunk
    assert chunk_ranges(29, 8, 4) == [(0, 8), (8, 16), (16, 24), (24, 29)]
    assert chunk_ranges(5, 8, 4) == [(0, 5)]
    with pytest.raises(ConfigError, match="longer than its 4 frames"):
        chunk_ranges(24, 4, 4)


def test_the_video_cross_fades_over_a_chunks_lead_frames(tmp_path):
    from vgg.video.assemble import finished

    work = WorkFolder(str(tmp_path / "out.mp4"))
    work.open({}, overwrite=False)
    for k in range(6):
        work.save_frame(k, np.full((2, 2, 3), 30.0 * k))
    for k in (2, 3):  # the next chunk (start 4, lead 2) made frames 2 and 3 as 200
        work.save_lead(k, np.full((2, 2, 3), 200.0))
    shown = [f[0, 0, 0] for f in finished(work, 6)]
    assert shown == [0, 30, int(60 + (200 - 60) / 3), int(90 + 2 * (200 - 90) / 3), 120, 150]


def test_a_chunk_starts_from_frame_0_warped_and_so_agrees_with_the_frames_before_it(net, source, tmp_path,
                                                                                   monkeypatch):  # fmt: skip
    """A chunk alone (frame 0 made for it, not kept) from frame 3 against the whole run's frames: from frame 0's
    stylisation warped by the composed flows, its first kept frame is much nearer the whole run's than from noise."""
    folders = [tmp_path / name for name in ("whole", "anchored", "noise")]
    for folder in folders:
        folder.mkdir()
    whole, _ = _stylise(net, source, folders[0], 1e3)
    anchored, done = _stylise(net, source, folders[1], 1e3, start=6, end=10, lead=3)
    assert anchored.done() == {6, 7, 8, 9} and [d.index for d in done] == [3, 4, 5, 6, 7, 8, 9]
    monkeypatch.setattr(VideoStylizer, "_anchor", lambda self, k: None)
    noise, _ = _stylise(net, source, folders[2], 1e3, start=6, end=10, lead=3)
    apart = {name: np.abs(work.load_frame(6) - whole.load_frame(6)).mean() for name, work in
             (("anchored", anchored), ("noise", noise))}  # fmt: skip
    assert apart["anchored"] < 0.5 * apart["noise"], apart
