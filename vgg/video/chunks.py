"""A long video split into chunks for separate workers (one task each), each starting ``lead`` frames early.

A chunk is a range [start, end) of frames; ``VideoStylizer.frames(start, end, lead)`` stylises it from frame
start - lead, keeps its own frames in the work folder and its lead frames apart, over which the video cross-fades
from the previous chunk to this one (vgg.video.work). Chunks share nothing while they run but the work folder
(each writes only its own frame files), so any executor that can run a function per chunk runs them in parallel;
the video is assembled once every chunk is done. The flows of a chunk are computed by its own worker.

Where a chunk starts (vgg.video.driver): at start - lead, from frame 0's stylisation warped onto that frame by
the content's flows composed, so that every chunk grows from the texture the first one grows from. ``LEAD`` is
8, by measurement: ``python -m benchmarks.video_check --size 128x96 --iterations 50 --chunks 3 --lead 0 2 4 8
--channel-scale 0.125`` (24 frames in 3 chunks of 8, temporal weight 1e3, a VGG-19 of random weights at an
eighth of its channels: the real one cannot be fetched here; 2 shared cores) gave the warping error at the seams
(the cross-faded pairs and the seam pair) against the pairs inside the chunks, and the whole clip unsplit:

    lead 0: 18.66 / 2.30 = 8.12x    lead 2: 5.85 / 2.32 = 2.52x    lead 4: 3.69 / 2.35 = 1.57x
    lead 8: 2.89 / 1.92 = 1.50x     (unsplit: 2.21; independent frames: 26.75)

Starting from noise instead (each chunk settling on a texture of its own), lead 4 gave 8.67 / 2.35 = 3.69x, and
4.42x starting from the content frame: the two chunks' textures then differ by about 30 (0..255), which a
cross-fade over L frames only divides by L + 1. A lead of 8 costs 8 more frames per chunk (a third of a chunk at
the shortest default, ``MIN_LEADS``); at 8 frames the seam is at the issue's aim of 1.5x, and 1.3x the unsplit
clip's warping error. With a chunk of 8 frames a lead of 8 cross-fades over the whole chunk before it: the
"inside" pairs are then the last chunk's only.

How long a chunk is (``frames_per_chunk``): as given (--frames-per-chunk), else the frames of all the videos of
the batch divided among the workers, rounded up, so that every worker has about as many frames to make; but never
under ``MIN_LEADS`` times the lead, so that no worker spends more than a third of its frames on lead-in. Several
videos on as many workers or fewer therefore run one task each. The chunks a video's work folder was started with
are kept in it (chunks.json): a run that goes on keeps them, whatever its workers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import ConfigError

LEAD = 8  # frames of lead-in and cross-fade per chunk (the module docstring gives the measurement)
MIN_LEADS = 2  # a chunk has at least this many times the lead's frames (by default)


def chunk_ranges(count: int, frames_per_chunk: int, lead: int = LEAD) -> list[tuple[int, int]]:
    """[start, end) of each chunk of at most ``frames_per_chunk`` frames; the last one may be longer (up to twice)
    rather than shorter than the lead. ConfigError if a chunk would not be longer than the lead."""
    if frames_per_chunk <= lead:
        raise ConfigError(f"a chunk of {frames_per_chunk} frames must be longer than its {lead} frames of lead-in")
    bounds = list(range(0, count, frames_per_chunk)) + [count]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] <= lead:
        bounds.pop(-2)  # a short tail joins the chunk before it
    return list(zip(bounds[:-1], bounds[1:]))


def frames_per_chunk(counts: Sequence[int], workers: int, lead: int = LEAD) -> int:
    """The default chunk length for videos of ``counts`` frames on ``workers`` workers (module docstring)."""
    share = math.ceil(sum(counts) / max(1, workers))
    return max(share, MIN_LEADS * lead, lead + 1)
