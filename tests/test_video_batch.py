"""Videos in a batch (vgg.cli.clip_batch): several videos, one task each, serially and on two local Dask workers,
each the video a single run makes; one video split into chunks (--frames-per-chunk) across two workers, the same
frame count and rate, the frames the serial split run makes; an interrupted split run that the same command goes
on with, making only the unfinished frames; a video assembled only from complete frames; a photo and a video in
one batch. Small clips (32x24), the small synthetic network, 2-3 iterations a frame. Frames are compared as
numbered PNGs: an MP4 of the same frames is not always the same bytes (libx264 from one process to the next)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
pytest.importorskip("cv2", reason="the video extra (opencv-python-headless) is not installed")

from batch_inputs import read  # noqa: E402
from cli_inputs import run_cli, write_cli_inputs  # noqa: E402
from video_inputs import RATE, clip, read_video, write_clip  # noqa: E402

from vgg.cli import clip_task  # noqa: E402
from vgg.video import driver  # noqa: E402

DASK = "Dask distributed is not installed: pip install -e '.[cluster]'"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = write_cli_inputs(tmp_path_factory.mktemp("video_batch"), "new")
    write_clip(root / "a.mp4", clip(18))
    write_clip(root / "b.mp4", clip(6)[::-1])
    return root


def _argv(inputs, contents, output, *extra, clip=True):
    base = ["--content", *contents, "--styles", inputs / "style.png", "--output", output]
    base += ["--network", inputs / "vgg.mat"]
    video = ["--frame-iterations", 2, "--flow-workers", 0] if clip else []
    return [str(a) for a in [*base, "--iterations", 3, "--seed", 1, "--progress", "never", *video, *extra]]


@pytest.fixture(scope="module")
def alone(inputs, tmp_path_factory):
    """Each video as a single run makes it (no batch): the reference."""
    out = tmp_path_factory.mktemp("alone")
    import stylize_cli

    for name in ("a", "b"):
        assert stylize_cli.main(_argv(inputs, [inputs / f"{name}.mp4"], out / f"{name}_%02d.png")) == 0
    return {name: _numbered(out, name) for name in ("a", "b")}


@pytest.fixture(scope="module")
def split(inputs, tmp_path_factory):
    """Video a split into chunks of 9 frames, run serially: the reference of the split runs."""
    out = tmp_path_factory.mktemp("split")
    import stylize_cli

    assert stylize_cli.main(_argv(inputs, [inputs / "a.mp4"], out / "a_%02d.png", "--frames-per-chunk", 9)) == 0
    return _numbered(out, "a")


def _numbered(folder, name):
    """The frames of numbered PNGs ``folder/NAME_01.png`` ..."""
    return [read(p) for p in sorted(folder.glob(f"{name}_[0-9][0-9].png"))]


def _same(frames, reference):
    assert len(frames) == len(reference)
    for k, (got, want) in enumerate(zip(frames, reference)):
        np.testing.assert_array_equal(got, want, err_msg=f"frame {k}")


def _recording(monkeypatch):
    """The keys of the chunk tasks run in this process, in order."""
    keys, real = [], clip_task.run_chunk

    def recorded(job, context):
        keys.append(f"{job.name}/{job.start}-{job.end}")
        return real(job, context)

    monkeypatch.setattr(clip_task, "run_chunk", recorded)
    return keys


def test_several_videos_run_serially_one_task_each_as_single_runs_make_them(inputs, alone, tmp_path, capsys,
                                                                            monkeypatch):  # fmt: skip
    keys = _recording(monkeypatch)
    code, err = run_cli(capsys, _argv(inputs, [inputs / "a.mp4", inputs / "b.mp4"], tmp_path / "{name}_%02d.png"))
    assert code == 0 and "2 items: 2 done" in err, err
    assert keys == ["a/0-18", "b/0-6"]
    for name in ("a", "b"):
        _same(_numbered(tmp_path, name), alone[name])
    assert not list(tmp_path.glob("*.frames"))  # the work folders are gone


def test_on_two_workers_several_videos_are_one_task_each_the_single_runs_videos(inputs, alone, tmp_path, capsys):
    pytest.importorskip("distributed", reason=DASK)
    argv = _argv(inputs, [inputs / "a.mp4", inputs / "b.mp4"], tmp_path / "{name}_%02d.png", "--workers", 2)
    code, err = run_cli(capsys, argv)
    assert code == 0 and "2 items: 2 done" in err, err
    for name in ("a", "b"):  # 24 frames on 2 workers: 12 a chunk, at least twice the lead (16): one task each
        _same(_numbered(tmp_path, name), alone[name])


def test_a_video_split_in_chunks_across_two_workers_is_the_serial_split(inputs, alone, split, tmp_path, capsys,
                                                                        monkeypatch):  # fmt: skip
    pytest.importorskip("distributed", reason=DASK)
    keys = _recording(monkeypatch)
    code, err = run_cli(capsys, _argv(inputs, [inputs / "a.mp4"], tmp_path / "s.mp4", "--frames-per-chunk", 9))
    assert code == 0 and keys == ["a/0-9", "a/9-18"], err  # serially: its two chunks in turn
    frames, rate, _ = read_video(tmp_path / "s.mp4")
    assert len(frames) == 18 and rate == RATE
    argv = _argv(inputs, [inputs / "a.mp4"], tmp_path / "w_%02d.png", "--frames-per-chunk", 9, "--workers", 2)
    code, err = run_cli(capsys, argv)
    assert code == 0 and "1 item: 1 done" in err, err
    assert err.count("stylize: done: a -> ") == 1 and "failed" not in err, err  # assembled once, when all is done
    frames = _numbered(tmp_path, "w")
    _same(frames, split)
    _same(frames[:1], alone["a"][:1])  # before the second chunk's lead-in, the frames of one run
    assert all(np.abs(f.astype(int) - g).max() > 8 for f, g in zip(frames[9:], alone["a"][9:]))  # after: its own
    argv = _argv(inputs, [inputs / "a.mp4"], tmp_path / "w.mp4", "--frames-per-chunk", 9, "--workers", 2)
    code, err = run_cli(capsys, argv)
    frames, rate, _ = read_video(tmp_path / "w.mp4")
    assert code == 0 and len(frames) == 18 and rate == RATE


def test_an_interrupted_split_run_goes_on_with_only_the_unfinished_frames(inputs, split, tmp_path, capsys,
                                                                         monkeypatch):  # fmt: skip
    real, made = driver.VideoStylizer._frame, []

    def interrupted_at_11(self, k, content, previous, *anchor):
        if k == 11 and "stop" not in made:
            made.append("stop")
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C: the batch stops after this frame's first iteration
        made.append(k)
        return real(self, k, content, previous, *anchor)

    monkeypatch.setattr(driver.VideoStylizer, "_frame", interrupted_at_11)
    argv = _argv(inputs, [inputs / "a.mp4"], tmp_path / "a_%02d.png", "--frames-per-chunk", 9)
    code, err = run_cli(capsys, argv)
    assert code == 130 and "11 of 18 frames are finished" in err, err
    assert sorted(os.listdir(tmp_path)) == ["a_%02d.png.frames"]  # nothing assembled from a part
    assert made == [*range(9), *range(1, 9), 9, 10, "stop", 11]  # chunk 2 starts with its lead-in, frames 1-8
    del made[:]
    made.append("stop")
    code, err = run_cli(capsys, argv)
    assert code == 0, err
    assert made == ["stop", *range(11, 18)]  # only the unfinished frames, from the finished frame 10
    _same(_numbered(tmp_path, "a"), split)
    assert not list(tmp_path.glob("*.frames"))


def test_a_video_is_assembled_only_from_complete_frames(inputs, tmp_path, capsys, monkeypatch):
    real = driver.VideoStylizer.frames

    def second_chunk_makes_nothing(self, start=0, end=None, lead=0):
        return iter(()) if start == 9 else real(self, start, end, lead)

    monkeypatch.setattr(driver.VideoStylizer, "frames", second_chunk_makes_nothing)
    code, err = run_cli(capsys, _argv(inputs, [inputs / "a.mp4"], tmp_path / "a.mp4", "--frames-per-chunk", 9))
    assert code == 1, err
    assert "frame 9 of 18 is not finished; the video is not assembled" in err
    assert sorted(os.listdir(tmp_path)) == ["a.mp4.frames"]


def test_a_photo_and_a_video_in_one_batch(inputs, tmp_path, capsys):
    single = tmp_path / "single.png"
    code, err = run_cli(capsys, _argv(inputs, [inputs / "content.png"], single, clip=False))
    assert code == 0, err
    out = tmp_path / "out"
    out.mkdir()
    code, err = run_cli(capsys, _argv(inputs, [inputs / "content.png", inputs / "b.mp4"], f"{out}{os.sep}"))
    assert code == 0 and "2 items: 2 done" in err, err
    assert sorted(os.listdir(out)) == ["b.mp4", "content.png"]
    np.testing.assert_array_equal(read(out / "content.png"), read(single))
    frames, rate, _ = read_video(out / "b.mp4")
    assert len(frames) == 6 and rate == RATE
