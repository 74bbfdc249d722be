"""The checks of a clip (a video, or numbered frames) as --content, before anything is read: the video extra, the
flags a clip takes, and its files (an output that is a video or numbered frames, never over an input)."""

from __future__ import annotations

import os

from ..errors import ConfigError, ImageError
from ..files import atomic, patterns
from ..files.images import check_output
from ..video import extra, kinds
from .flags import VIDEO_FLAGS
from .invocation import FRAMES_IN, FRAMES_OUT, WORK, Invocation, RunFile

# What a clip's run does not do (a photo's run does): {dest: why}
NOT_WITH_A_CLIP = {
    "scales": "each frame is stylised at one size",
    "scale_iterations": "each frame is stylised at one size",
    "initial": "each frame starts from the previous one",
    "checkpoint_output": "finished frames are kept in the work folder instead",
    "checkpoint_iterations": "finished frames are kept in the work folder instead",
    "keep_states": "finished frames are kept in the work folder instead",
    "resume": "run the same command again to go on",
    "progress_write": "a file per frame is not written",
    "progress_plot": "a file per frame is not written",
    "log": "a file per frame is not written",
    "dry_run": "not for a clip yet",
}


def check_flags(inv: Invocation) -> None:
    """A clip's flags (with the extra installed), or a photo's without the clip's flags."""
    if not inv.is_clip:
        _check_photo(inv)
        return
    extra.require(f"--content {inv.content} (a {'video' if inv.content_kind == kinds.VIDEO else 'set of frames'})")
    for dest, why in NOT_WITH_A_CLIP.items():
        if dest in inv.given:
            raise ConfigError(f"{inv.given[dest]} is not available with a video --content ({why})")
    if "frame_rate" in inv.given and inv.content_kind == kinds.VIDEO:
        raise ConfigError("--frame-rate is for numbered frames as --content; a video keeps its own frame rate")
    out = kinds.output_kind(inv.output)
    ext = os.path.splitext(inv.output)[1].lower()
    if out == kinds.IMAGE or (out == kinds.VIDEO and ext not in kinds.WRITTEN):
        raise ConfigError(
            f"--output {inv.output}: a video --content makes a video ({', '.join(kinds.WRITTEN)}) or numbered "
            "frames such as 'out/%05d.png'"
        )


def _check_photo(inv: Invocation) -> None:
    given = next((inv.given[d] for d in VIDEO_FLAGS if d in inv.given), None)
    if given is not None:
        raise ConfigError(f"{given} applies to a video --content only; {inv.content} is an image")
    if os.path.splitext(inv.output)[1].lower() in kinds.VIDEO_EXTENSIONS:
        raise ConfigError(f"--output {inv.output} is a video, but --content {inv.content} is one image")


def check_files(inv: Invocation, rows: tuple[RunFile, ...], inputs: list[RunFile]) -> None:
    """The rows only a clip has: numbered frames in and out, and the work folder."""
    frames_in = [r for r in rows if r.kind == FRAMES_IN]
    for row in rows:
        if row.kind == FRAMES_OUT:
            _check_frames_out(row, inputs, frames_in, inv.overwrite)
        elif row.kind == WORK and os.path.exists(row.path) and not os.path.isdir(row.path):
            raise ConfigError(f"{row.path}: the work folder of --output is a file; move it away")


def _check_frames_out(row: RunFile, inputs: list[RunFile], frames_in: list[RunFile], overwrite: bool) -> None:
    try:
        check_output(patterns.checkpoint_name(row.path, 1), overwrite=True)
    except ImageError as exc:
        raise ConfigError(f"--output {row.path}: {exc}") from None
    for other in frames_in:
        if any(patterns.iteration_of(row.path, p) is not None for p in patterns.existing_files(other.path, _all)):
            raise ConfigError(f"--output {row.path} names the frames of --content {other.path}; an input is never "
                              "overwritten")  # fmt: skip
    for other in inputs:
        if patterns.iteration_of(row.path, os.path.abspath(other.path)) is not None:
            raise ConfigError(f"--output {row.path} names {other.flag} {other.path}; an input is never overwritten")
    existing = next(patterns.existing_files(row.path, _all), None)
    if existing is not None and not overwrite:
        raise ConfigError(f"--output: {existing} already exists; pass --overwrite to replace it")


def _all(i: int) -> bool:
    return True


def check_video_output(row: RunFile, overwrite: bool) -> None:
    """A video output: a writable place, not there already (without ``overwrite``)."""
    atomic.check_writable(row.path, overwrite)
