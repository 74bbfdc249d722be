"""Video files in and out through PyAV (FFmpeg inside its wheel); animated GIF out through Pillow.

Why PyAV rather than imageio-ffmpeg: it decodes and encodes in this process (no ffmpeg subprocess and pipes),
gives the streams' frame rates and time bases, and copies an audio stream packet by packet; imageio-ffmpeg
can only hand a whole audio file to its ffmpeg binary, and rescales frames to multiples of 16 by default.

Reading: every frame of the first video stream, as RGB uint8, in decoding order; the frame rate is the
stream's average rate (a variable-rate GIF comes out at its average rate, with the same frame count).
Writing: the extension picks the container; H.264 (libx264, or FFmpeg's own MPEG-4 Part 2 where the wheel
lacks it) in MP4, MOV and MKV, VP9 in WebM, MPEG-4 in AVI, all yuv420p, which needs even sides: a frame of
odd width or height loses its last column or row in those files. The audio of the content is copied as it
is where the container takes its codec, else re-encoded (Opus in WebM, AAC in MP4/MOV); a GIF or numbered
frames hold none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
from PIL import Image

from ..errors import ImageError
from ..files import atomic

# What each output extension is written with: the video codecs in order of preference, the audio re-encoder
CONTAINERS = {
    ".mp4": (("libx264", "mpeg4"), "aac"),
    ".m4v": (("libx264", "mpeg4"), "aac"),
    ".mov": (("libx264", "mpeg4"), "aac"),
    ".mkv": (("libx264", "mpeg4"), "libopus"),
    ".webm": (("libvpx-vp9", "libvpx"), "libopus"),
    ".avi": (("mpeg4",), "mp3"),
}
VIDEO_OPTIONS = {"libx264": {"crf": "17", "preset": "medium"}, "libvpx-vp9": {"crf": "24", "b": "0"}}


@dataclass(frozen=True)
class VideoInfo:
    """A readable video: its frame count (counted, not the header's), rate (frames per second), size, audio."""

    path: str
    frames: int
    rate: Fraction
    width: int
    height: int
    audio: bool


def _open(path: str) -> Any:
    try:
        return av.open(path, "r")
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not a video") from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ImageError(f"{path}: not a video FFmpeg can read ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def probe(path: str) -> VideoInfo:
    """The video at ``path``; ImageError (one line) if it cannot be read, has no video stream or no frames.

    The frames are counted by decoding them all (headers may lack the count, or lie): one pass of decoding."""
    with _open(path) as container:
        if not container.streams.video:
            raise ImageError(f"{path}: the video has no frames (it holds no video stream)")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        count = sum(1 for _ in _decoded(container, path))
        audio = bool(container.streams.audio)
        width, height = stream.codec_context.width, stream.codec_context.height
    if count == 0:
        raise ImageError(f"{path}: the video has no frames")
    if not rate or rate <= 0:
        raise ImageError(f"{path}: the video has no frame rate")
    return VideoInfo(path, count, Fraction(rate.numerator, rate.denominator), width, height, audio)


def _decoded(container: Any, path: str) -> Iterator[Any]:
    container.streams.video[0].thread_type = "AUTO"
    try:
        yield from container.decode(video=0)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ImageError(f"{path}: the video cannot be decoded ({_reason(exc)})") from None


def read_frames(path: str, start: int = 0) -> Iterator[np.ndarray]:
    """The frames from index ``start`` on, each (H, W, 3) uint8 RGB (the ones before are decoded and dropped)."""
    with _open(path) as container:
        for k, frame in enumerate(_decoded(container, path)):
            if k >= start:
                yield frame.to_ndarray(format="rgb24")


def video_codec(ext: str) -> str:
    """The first codec of the container's list that this PyAV build can encode with."""
    for name in CONTAINERS[ext][0]:
        if name in av.codecs_available:
            return name
    raise ImageError(f"no encoder for {ext} in this PyAV build (tried {', '.join(CONTAINERS[ext][0])})")


def write_video(path: str, frames: Iterable[np.ndarray], rate: Fraction, audio_from: str | None,
                overwrite: bool) -> list[str]:  # fmt: skip
    """Write the frames (uint8 RGB, all one size) as the video ``path``, placed atomically (never over an existing
    file without ``overwrite``); the audio of ``audio_from`` copied or re-encoded. Notes for the user (a dropped
    audio stream, a cropped side) are returned, one line each."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".gif":
        notes = ["the GIF holds no audio: the content's audio is left out"] if audio_from else []
        atomic.write_atomic(path, lambda f: _write_gif(f, frames, rate), overwrite)
        return notes
    notes: list[str] = []
    fd, tmp = atomic.temporary_beside(path)
    os.close(fd)
    try:
        with av.open(tmp, "w") as out, _Audio(audio_from) as audio:
            frames = iter(frames)
            first = next(frames, None)
            if first is None:
                raise ImageError(f"{path}: no frames to write")
            video = _video_stream(out, ext, rate, first.shape[:2], notes)
            audio.add_to(out, ext, notes)  # every stream before the first packet
            for frame in _chain(first, frames):
                _mux(out, video, av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[: video.height, : video.width]),
                                                             format="rgb24"))  # fmt: skip
            _mux(out, video, None)
            audio.copy(out)
        os.chmod(tmp, atomic.new_file_mode(path))
        atomic.place(tmp, path, overwrite)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return notes


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _mux(out: Any, stream: Any, frame: Any) -> None:
    """Encode one frame (None: flush the encoder) and write what comes out."""
    for packet in stream.encode(frame):
        out.mux(packet)


def _video_stream(out: Any, ext: str, rate: Fraction, hw: tuple[int, int], notes: list[str]) -> Any:
    codec, (h, w) = video_codec(ext), hw
    stream = out.add_stream(codec, rate=rate, options=VIDEO_OPTIONS.get(codec, {}))
    stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
    if (w % 2, h % 2) != (0, 0):
        notes.append(f"{w}x{h} frames are cropped to {stream.width}x{stream.height} (yuv420p needs even sides)")
    return stream


class _Audio:
    """The first audio stream of the content, into the output: its packets copied where the container takes
    its codec, else decoded and re-encoded (CONTAINERS)."""

    def __init__(self, source: str | None) -> None:
        self.source, self.inp, self.stream, self.out_stream, self.copying = source, None, None, None, True

    def __enter__(self) -> _Audio:
        if self.source is not None:
            self.inp = _open(self.source)
            self.stream = self.inp.streams.audio[0] if self.inp.streams.audio else None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.inp is not None:
            self.inp.close()

    def add_to(self, out: Any, ext: str, notes: list[str]) -> None:
        if self.stream is None:
            return
        try:
            self.out_stream = out.add_stream_from_template(self.stream)
        except ValueError:  # the container does not take this codec (AAC in WebM)
            codec, self.copying = CONTAINERS[ext][1], False
            notes.append(f"the audio ({self.stream.codec_context.name}) is re-encoded as {codec} for {ext}")
            self.out_stream = out.add_stream(codec, rate=self.stream.codec_context.sample_rate or 48000)

    def copy(self, out: Any) -> None:
        if self.out_stream is None:
            return
        if self.copying:
            for packet in self.inp.demux(self.stream):
                if packet.size:
                    packet.stream = self.out_stream
                    out.mux(packet)
            return
        for frame in self.inp.decode(self.stream):
            frame.pts = None
            _mux(out, self.out_stream, frame)
        _mux(out, self.out_stream, None)


def _write_gif(f: Any, frames: Iterable[np.ndarray], rate: Fraction) -> None:
    """An animated GIF, looping, each frame quantised to its own palette; GIF delays are in 10 ms."""
    images, previous = [], None
    for frame in frames:
        image = Image.fromarray(np.asarray(frame, dtype=np.uint8)).quantize(255)
        shown = np.asarray(image.convert("RGB"))
        if previous is not None and np.array_equal(shown, previous):
            image = _nudged(image, shown)
            shown = np.asarray(image.convert("RGB"))  # so that a third equal frame is not nudged alike
        previous = shown
        images.append(image)
    if not images:
        raise ImageError("no frames to write")
    duration = max(10, round(1000 / float(rate) / 10) * 10)
    images[0].save(f, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)


def _nudged(image: Image.Image, shown: np.ndarray) -> Image.Image:
    """The frame with its first pixel one level bluer (or less blue), through the palette's spare 256th entry:
    Pillow merges a frame equal to the one before into it, and the frame count must stay the count."""
    palette = (image.getpalette() or [])[: 255 * 3]
    palette += [0, 0, 0] * (255 - len(palette) // 3)
    r, g, b = (int(v) for v in shown[0, 0])
    image = image.copy()
    image.putpalette(palette + [r, g, b + 1 if b < 255 else b - 1])
    image.putpixel((0, 0), 255)
    return image
