"""Clips a video test runs on, made here with PyAV and Pillow: the synthetic scene (vgg.video.synthetic) as an
MP4 (with a tone as its audio), a WebM, an animated GIF or numbered PNG frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from vgg.video.synthetic import synthetic_clip

RATE = Fraction(24)


def clip(n: int = 24, h: int = 24, w: int = 32) -> list[np.ndarray]:
    return synthetic_clip(n, h, w, seed=3)


def write_clip(path: Path, frames: list[np.ndarray], audio: bool = False, rate: Fraction = RATE) -> Path:
    """``frames`` as a video file (the extension picks the container), with a 440 Hz tone as audio if asked."""
    import av

    if path.suffix == ".gif":
        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / rate), loop=0)
        return path
    codec, audio_codec = {".webm": ("libvpx-vp9", "libopus"), ".avi": ("mpeg4", "mp3")}.get(
        path.suffix, ("libx264", "aac")
    )
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        sound = out.add_stream(audio_codec, rate=48000) if audio else None  # every stream before the first packet
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            _tone(out, sound, len(frames) / rate)
    return path


def _tone(out, stream, seconds: Fraction) -> None:
    import av

    t = np.arange(int(48000 * seconds)) / 48000
    frame = av.AudioFrame.from_ndarray((0.2 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32), format="flt",
                                       layout="mono")  # fmt: skip
    frame.sample_rate, frame.pts = 48000, 0
    for packet in [*stream.encode(frame), *stream.encode()]:
        out.mux(packet)


def write_frames(folder: Path, frames: list[np.ndarray], first: int = 1) -> str:
    """Numbered PNGs ``folder/NNNN.png`` from ``first``; the pattern that names them."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{first + k:04d}.png")
    return str(folder / "%04d.png")


def read_video(path: Path) -> tuple[list[np.ndarray], Fraction, list[str]]:
    """The frames, the frame rate and the codec of each stream of a video file."""
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        rate, codecs = stream.average_rate, [s.codec_context.name for s in c.streams]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return frames, rate, codecs
