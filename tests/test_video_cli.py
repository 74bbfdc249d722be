"""A clip through the command line: a video (MP4 with audio, WebM, GIF) or numbered frames in, the same number of
frames out at the same rate, the audio copied; resumed after an interrupt from the next unfinished frame, with
the frames an uninterrupted run makes; and the one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
pytest.importorskip("cv2", reason="the video extra (opencv-python-headless) is not installed")

from cli_inputs import run_cli, write_cli_inputs  # noqa: E402
from video_inputs import RATE, clip, read_video, write_clip, write_frames  # noqa: E402

from vgg.video import driver  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("video_cli"), "new")


def _argv(inputs, content, output, *extra, clip=True):
    base = ["--content", content, "--styles", inputs / "style.png", "--output", output, "--network", inputs / "vgg.mat"]
    video = ["--frame-iterations", 2, "--flow-workers", 0] if clip else []
    return [str(a) for a in [*base, "--iterations", 3, "--seed", 1, *video, *extra]]


def test_an_mp4_with_audio_comes_out_with_the_same_frames_rate_and_audio(inputs, tmp_path, capsys):
    content = write_clip(tmp_path / "in.mp4", clip(), audio=True)
    code, err = run_cli(capsys, _argv(inputs, content, tmp_path / "out.mp4"))
    assert code == 0, err
    frames, rate, codecs = read_video(tmp_path / "out.mp4")
    assert len(frames) == 24 and rate == RATE and codecs == ["h264", "aac"]
    assert frames[0].shape == (24, 32, 3)
    assert not (tmp_path / "out.mp4.frames").exists()  # the work folder goes once the video is placed
    assert err.count("stylize: frame: ") == 24 and "temporal" in err


@pytest.mark.parametrize("ext", [".webm", ".gif"])
def test_webm_and_animated_gif_in_and_out(inputs, tmp_path, capsys, ext):
    content = write_clip(tmp_path / f"in{ext}", clip(12))
    code, err = run_cli(capsys, _argv(inputs, content, tmp_path / f"out{ext}"))
    assert code == 0, err
    frames, rate, _ = read_video(tmp_path / f"out{ext}")
    assert len(frames) == 12 and float(rate) == pytest.approx(24, rel=0.05)


def test_numbered_frames_in_and_out_keep_their_numbers(inputs, tmp_path, capsys):
    pattern = write_frames(tmp_path / "in", clip(6), first=7)
    out = tmp_path / "out"
    out.mkdir()
    code, err = run_cli(capsys, _argv(inputs, pattern, out / "s_%03d.png"))
    assert code == 0, err
    assert sorted(os.listdir(out)) == [f"s_{n:03d}.png" for n in range(7, 13)]
    code, err = run_cli(capsys, _argv(inputs, pattern, tmp_path / "out.mp4", "--frame-rate", "12"))
    assert code == 0, err
    frames, rate, _ = read_video(tmp_path / "out.mp4")
    assert len(frames) == 6 and rate == 12


def test_an_interrupted_run_goes_on_from_the_next_frame_and_makes_the_same_frames(inputs, tmp_path, capsys,
                                                                                 monkeypatch):  # fmt: skip
    content = write_clip(tmp_path / "in.mp4", clip(10))
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    code, err = run_cli(capsys, _argv(inputs, content, tmp_path / "a" / "%02d.png"))
    assert code == 0, err
    real, made, stopped = driver.VideoStylizer._frame, [], []

    def interrupted_at_6(self, k, content, previous, *anchor):
        if k == 6 and not stopped:
            stopped.append(k)
            raise KeyboardInterrupt
        made.append(k)
        return real(self, k, content, previous, *anchor)

    monkeypatch.setattr(driver.VideoStylizer, "_frame", interrupted_at_6)
    output = tmp_path / "b" / "%02d.png"
    code, err = run_cli(capsys, _argv(inputs, content, output))
    assert code == 130 and "6 of 10 frames are finished" in err and "run the same command again" in err
    assert sorted(os.listdir(tmp_path / "b")) == ["%02d.png.frames"]  # nothing assembled from a part
    made.clear()
    code, err = run_cli(capsys, _argv(inputs, content, output))
    assert code == 0, err
    assert made == [6, 7, 8, 9] and "6 finished already" in err
    for n in range(1, 11):
        assert (tmp_path / "a" / f"{n:02d}.png").read_bytes() == (tmp_path / "b" / f"{n:02d}.png").read_bytes()


def test_a_work_folder_of_another_run_is_refused_unless_overwrite(inputs, tmp_path, capsys, monkeypatch):
    content = write_clip(tmp_path / "in.mp4", clip(4))
    monkeypatch.setattr(driver.VideoStylizer, "frames", lambda self, *a: iter(()))  # stops before assembling
    code, err = run_cli(capsys, _argv(inputs, content, tmp_path / "out.mp4"))
    assert code == 2 and "frame 0 of 4 is not finished; the video is not assembled" in err
    assert not (tmp_path / "out.mp4").exists()
    monkeypatch.undo()
    code, err = run_cli(capsys, _argv(inputs, content, tmp_path / "out.mp4", "--temporal-weight", "5"))
    assert code == 2 and "holds the frames of another run (its video differs)" in err
    code, err = run_cli(capsys, _argv(inputs, content, tmp_path / "out.mp4", "--temporal-weight", "5", "--overwrite"))
    assert code == 0, err


def _one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stylize: error: "), err
    return lines[0]


def test_an_unreadable_video_and_a_video_without_frames_are_one_line_each(inputs, tmp_path, capsys):
    (tmp_path / "bad.mp4").write_bytes(b"this is no video" * 20)
    code, err = run_cli(capsys, _argv(inputs, tmp_path / "bad.mp4", tmp_path / "out.mp4"))
    assert code == 2 and "bad.mp4: not a video FFmpeg can read" in _one_line_error(err)
    import av

    with av.open(str(tmp_path / "empty.avi"), "w") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        out.start_encoding()
    code, err = run_cli(capsys, _argv(inputs, tmp_path / "empty.avi", tmp_path / "out.mp4"))
    assert code == 2 and "empty.avi: the video has no frames" in _one_line_error(err)
    code, err = run_cli(capsys, _argv(inputs, tmp_path / "none_%03d.png", tmp_path / "out.mp4"))
    assert code == 2 and "no frames match this pattern" in _one_line_error(err)


@pytest.mark.parametrize(
    ("content", "output", "extra", "message"),
    [
        ("in.mp4", "out.png", [], "a video --content makes a video"),
        ("in.mp4", "out.mp4", ["--scales", "16", "32"], "--scales is not available with a video --content"),
        ("in.mp4", "out.mp4", ["--frame-rate", "12"], "--frame-rate is for numbered frames"),
        ("in.mp4", "in.mp4", ["--overwrite"], "is the same file as --content"),
        ("photo.png", "out.png", ["--temporal-weight", "3"], "--temporal-weight applies to a video --content only"),
        ("photo.png", "out.mp4", [], "is a video, but --content"),
        ("in.mp4", "out.mp4", ["--frame-iterations", "0"], "--frame-iterations must be positive"),
    ],
)
def test_flags_a_clip_cannot_take_are_one_line_each(inputs, tmp_path, capsys, content, output, extra, message):
    write_clip(tmp_path / "in.mp4", clip(3))
    (tmp_path / "photo.png").write_bytes((inputs / "content.png").read_bytes())
    argv = _argv(inputs, tmp_path / content, tmp_path / output, *extra, clip=content.endswith(".mp4"))
    code, err = run_cli(capsys, argv)
    assert code == 2 and message in _one_line_error(err)


def test_an_existing_output_is_not_replaced(inputs, tmp_path, capsys):
    content = write_clip(tmp_path / "in.mp4", clip(3))
    (tmp_path / "out.mp4").write_bytes(b"mine")
    code, err = run_cli(capsys, _argv(inputs, content, tmp_path / "out.mp4"))
    assert code == 2 and "already exists" in _one_line_error(err)
    assert (tmp_path / "out.mp4").read_bytes() == b"mine"


BLOCKED = """
import sys
sys.modules["av"] = None  # import av raises ImportError: the extra is not installed
import stylize_cli
sys.exit(stylize_cli.main(sys.argv[1:]))
"""


def test_without_the_extra_a_video_is_one_line_naming_it_and_a_photo_still_runs(inputs, tmp_path):
    (tmp_path / "in.mp4").write_bytes(b"\0" * 100)
    run = lambda argv: subprocess.run([sys.executable, "-c", BLOCKED, *argv], check=False, capture_output=True,  # noqa: E731
                                      text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    result = run(_argv(inputs, tmp_path / "in.mp4", tmp_path / "out.mp4"))
    assert result.returncode == 2
    line = _one_line_error(result.stderr)
    assert "needs the video extra" in line and "pip install -e '.[video]'" in line
    result = run(_argv(inputs, inputs / "content.png", tmp_path / "out.png", clip=False))
    assert result.returncode == 0, result.stderr
    assert np.asarray((tmp_path / "out.png").stat().st_size) > 0


def test_a_gif_keeps_every_frame_also_frames_equal_to_the_one_before(tmp_path):
    """Pillow merges a GIF frame equal to the previous one into it; a still clip must keep its frame count."""
    from fractions import Fraction

    from vgg.video.media import write_video

    still = clip(1)[0]
    frames = [still, still, still, clip(2)[1], still, still]
    write_video(str(tmp_path / "still.gif"), frames, Fraction(24), None, overwrite=False)
    out, _, _ = read_video(tmp_path / "still.gif")
    assert len(out) == 6
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(out[:3], out[1:3])) <= 1
