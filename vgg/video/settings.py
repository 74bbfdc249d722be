"""The settings of a video run, with their defaults (the CLI's video flags are these fields); no extra needed.

The defaults, by measurement: ``python -m benchmarks.video_check --size 128x96 --frames 8 --channel-scale 0.125
--sweep-weights 0 1e2 1e3 1e4 --sweep-iterations 25 50 100`` (a VGG-19 of random weights at an eighth of its
channels, the real one cannot be fetched here; 8 frames to fit the 2 shared cores). The temporal method's
warping error (0..255) and its loss without the temporal term, mean per frame (frame 0 included, which gets
the same iterations there):

    weight        25 iterations        50 iterations        100 iterations
    0             15.87  2.13e5        13.29  8.17e4        11.39  4.11e4
    1e2           13.81  2.07e5         8.61  8.41e4         5.31  5.10e4
    1e3            5.97  2.22e5         2.60  1.13e5         1.15  7.12e4
    1e4            1.99  2.91e5         0.87  1.37e5         0.50  8.12e4

- ``temporal_weight`` 1e3: a fifth of the warping error without the loss (2.60 against 13.29 at 50 iterations)
  for 38% more loss; 1e2 leaves two thirds of the flicker, 1e4 buys 0.87 for 67% more loss (the frames follow
  the warped previous one more than the style). Over the same 24-frame clip at 50 iterations
  (benchmarks/RESULTS.md) the temporal method's warping error is 0.08x the independent frames'.
- ``frame_iterations`` 50: a frame that starts from the previous one warped goes on converging (at 50 its loss
  is 1.13e5, half the 2.14e5 of a frame from noise after as many); 100 lowers loss (7.12e4) and warping error
  (1.15) further at twice the time, 25 leaves the frames as unconverged as a frame from noise (2.22e5).
- ``first_frame_iterations`` None (--iterations, a photo's): frame 0 starts from noise, as a photo does, and
  every later frame inherits it; the table's 25-iteration column (frame 0 as short as the rest) is what a short
  first frame gives.
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

    temporal_weight: float = 1e3  # gamma of Ruder et al.'s temporal loss (vgg.style.temporal); docstring: why
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
