"""The settings of a video run, with their defaults (the CLI's video flags are these fields); no extra needed.

The defaults are provisional, not yet chosen by a measurement (benchmarks/video_check.py --sweep-weights is the
one to choose them with): the temporal weight is artistic-videos' 1e3, whose losses are scaled as ours at the
default content and style weights; the later frames get half the first frame's iterations, their 1000 to 2000.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from fractions import Fraction

from ..errors import ConfigError
from .chunks import LEAD

FLOW_PRESETS = ("ultrafast", "fast", "medium")  # OpenCV DIS presets, fastest first


@dataclass(frozen=True)
class VideoSettings:
    """How a video is stylised; the per-frame loop's own settings stay in StyleConfig."""

    temporal_weight: float = 1e3  # gamma of Ruder et al.'s temporal loss (vgg.style.temporal)
    first_frame_iterations: int | None = None  # None: StyleConfig.iterations
    frame_iterations: int = 50  # every frame after the first (or after a chunk's first)
    flow_preset: str = "medium"
    frame_rate: Fraction | None = None  # of numbered frames in (a video's own rate otherwise)
    flow_workers: int | None = None  # processes computing the flow ahead; None: the machine's cores
    frames_per_chunk: int | None = None  # a video split into chunks of this many frames (vgg.video.chunks)

    def validate(self) -> None:
        """ConfigError (one line, flag names) for a value out of range."""
        checks = [
            (self.temporal_weight >= 0, f"--temporal-weight must be 0 or more, got {self.temporal_weight:g}"),
            (self.first_frame_iterations is None or self.first_frame_iterations > 0,
             f"--first-frame-iterations must be positive, got {self.first_frame_iterations}"),
            (self.frame_iterations > 0, f"--frame-iterations must be positive, got {self.frame_iterations}"),
            (self.flow_preset in FLOW_PRESETS, f"--flow-preset must be one of {', '.join(FLOW_PRESETS)}"),
            (self.frame_rate is None or self.frame_rate > 0, f"--frame-rate must be positive, got {self.frame_rate}"),
            (self.flow_workers is None or self.flow_workers >= 0, "--flow-workers must be 0 (in this process) or more"),
            (self.frames_per_chunk is None or self.frames_per_chunk > LEAD,
             f"--frames-per-chunk must be more than a chunk's {LEAD} frames of lead-in, got {self.frames_per_chunk}"),
        ]  # fmt: skip
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise ConfigError(problems[0])

    def first_iterations(self, iterations: int) -> int:
        return self.first_frame_iterations or iterations

    def computed(self) -> dict[str, object]:
        """What decides the frames (a work folder made with other values holds other frames)."""
        values = dataclasses.asdict(self)
        # the rate is the assembly's; the workers change nothing; the chunks are the work folder's own (chunks.json)
        for name in ("frame_rate", "flow_workers", "frames_per_chunk"):
            values.pop(name)
        return json.loads(json.dumps(values))


def parse_rate(text: str) -> Fraction:
    """A frame rate as '24', '29.97' or '30000/1001'; ValueError otherwise."""
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"expected a frame rate such as 24, 29.97 or 30000/1001, got {text!r}") from None
    if rate <= 0:
        raise ValueError(f"expected a positive frame rate, got {text!r}")
    return rate
