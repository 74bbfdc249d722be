"""What a --content or --output names: one image, a video file, or numbered frames (no extra needed).

Numbered frames are spelled as a file-name pattern with one number in it, the same patterns
--checkpoint-output takes: ``frames/%05d.png``, ``frames/f_%d.jpg``, ``frames/{:05}.png``. A pattern is never
a folder, so it cannot be confused with a folder given as --content (a batch of separate photos); a name
whose number field does not write plain decimal digits (``50%off.jpg``, ``photo{1}.jpg``) is a file name.
A video is a file with a video extension, or a GIF with more than one frame (one frame: a photo, as before).
"""

from __future__ import annotations

import os

from PIL import Image

from ..errors import ConfigError
from ..files import patterns

IMAGE, VIDEO, FRAMES = "image", "video", "frames"
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".ogv")
ANIMATED = (".gif",)  # a video when it has more than one frame
WRITTEN = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif")  # the video outputs (vgg.video.media)


def is_frame_pattern(path: str) -> bool:
    """Whether ``path`` is a numbered-frames pattern (module docstring)."""
    base = os.path.basename(path)
    if "%" not in base and "{" not in base:
        return False
    try:
        patterns.check_pattern(path)
    except ConfigError:
        return False
    return True


def _frame_count(path: str) -> int:
    try:
        with Image.open(path) as img:
            return int(getattr(img, "n_frames", 1))
    except (OSError, ValueError, SyntaxError):
        return 1  # unreadable: left to the image reader, which names what is wrong


def content_kind(path: str) -> str:
    """IMAGE, VIDEO or FRAMES for a --content value."""
    if is_frame_pattern(path):
        return FRAMES
    ext = os.path.splitext(path)[1].lower()
    if ext in VIDEO_EXTENSIONS:
        return VIDEO
    if ext in ANIMATED and os.path.isfile(path) and _frame_count(path) > 1:
        return VIDEO
    return IMAGE


def output_kind(path: str) -> str:
    """IMAGE, VIDEO or FRAMES for an --output value (a GIF output is a video when the content is one)."""
    if is_frame_pattern(path):
        return FRAMES
    ext = os.path.splitext(path)[1].lower()
    return VIDEO if ext in VIDEO_EXTENSIONS or ext in ANIMATED else IMAGE
