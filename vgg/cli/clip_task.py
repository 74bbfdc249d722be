"""One chunk of a video as a task of a batch (vgg.batch.executor): frames [start, end) of the clip, with their
lead-in, stylised into the video's work folder (vgg.video.work) in whatever process the executor runs it (this one,
or a Dask worker). Every finished frame is placed there as it is made, so nothing finished is lost when the task
ends early; the client assembles the video once every chunk is done (vgg.cli.clip_batch).

The network and the style targets are those of the process's cache (vgg.cli.item), shared with the photos of the
batch. At each iteration the task reports its progress (frames made, in thousandths) and looks whether the batch
is stopping: then it ends after that iteration, the frame in progress given up. On a worker the flows are computed
in the worker's own process (the workers are the parallelism; a Dask worker may not start processes of its own).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from dataclasses import dataclass
from typing import Any

from minigrad.backend import BackendError

from ..batch.executor import LOCAL, TaskContext
from ..errors import LossNotFiniteError, StyleError
from ..report.listeners import Listener
from ..style.loop import Event, IterationDone
from . import checks, item
from .clip_run import read_styles
from .invocation import Invocation

DONE, INTERRUPTED, NOT_FINITE, FAILED = item.DONE, item.INTERRUPTED, item.NOT_FINITE, item.FAILED
UNIT = 1000  # progress is counted in thousandths of a frame


@dataclass(frozen=True)
class ChunkJob:
    """The payload of a chunk's task: the video's item name, its record (its config with the work folder's seed),
    the clip (vgg.video.source.Source) and the chunk [start, end) with ``lead`` frames of lead-in."""

    name: str
    invocation: Invocation
    source: Any
    start: int
    end: int
    lead: int


@dataclass(frozen=True)
class ChunkResult:
    """What a chunk's task hands back: ``status`` DONE, INTERRUPTED, NOT_FINITE or FAILED (``reason``, one line);
    ``made``: the frames of its range it placed; ``messages``: the lines it would have printed."""

    status: str
    made: int = 0
    reason: str = ""
    messages: tuple[str, ...] = ()


class _Watch(Listener):
    """Reports the chunk's progress at each iteration and stops it when the batch stops."""

    def __init__(self, context: TaskContext, frames: int) -> None:
        self.context, self.total, self.finished = context, frames * UNIT, 0

    def on(self, event: Event) -> None:
        if isinstance(event, IterationDone):
            self.context.progress(self.finished * UNIT + UNIT * (event.i + 1) // event.n, self.total)
            if self.context.stopping():
                raise item.Stopped()


def _stylizer(job: ChunkJob, context: TaskContext, watch: _Watch) -> Any:
    """The chunk's VideoStylizer (StyleError, BackendError, OSError, MemoryError for inputs it cannot use)."""
    from ..video.driver import VideoStylizer
    from ..video.work import WorkFolder

    inv, source = job.invocation, job.source
    styles = read_styles(inv, source.hw[1])
    checks.check_memory(inv, source.hw, [s.shape[:2] for s in styles])
    net = item.cached_network(inv)
    settings = inv.video if context.worker == LOCAL else dataclasses.replace(inv.video, flow_workers=0)
    return VideoStylizer(net, source, styles, inv.config, settings, WorkFolder(inv.output), lambda k, run: [watch],
                         item.cached_targets(inv))  # fmt: skip


def _attempt(job: ChunkJob, context: TaskContext) -> ChunkResult:
    """The chunk's frames; every way it ends as a ChunkResult (the frames placed before it ended stay)."""
    from ..video.driver import plan
    from ..video.work import WorkFolder

    work, made = WorkFolder(job.invocation.output), 0
    try:
        todo = plan(work, job.start, job.end, job.lead)
        watch = _Watch(context, max(0, todo.end - todo.first))
        stylizer = _stylizer(job, context, watch)
    except (StyleError, BackendError, OSError) as exc:
        return ChunkResult(FAILED, reason=str(exc))
    except MemoryError as exc:
        return ChunkResult(FAILED, reason=f"out of memory while reading the inputs ({exc or type(exc).__name__})")
    k = todo.first  # the frame being made
    try:
        stylizer.flows(job.start, job.end, job.lead)
        for done in stylizer.frames(job.start, job.end, job.lead):
            made, k = made + done.kept, done.index + 1
            watch.finished += 1
    except item.Stopped:
        return ChunkResult(INTERRUPTED, made)
    except LossNotFiniteError as exc:
        return ChunkResult(NOT_FINITE, made, f"{exc} (frame {k + 1} of {job.source.count})")
    except MemoryError as exc:
        return ChunkResult(FAILED, made, f"out of memory ({exc or type(exc).__name__})")
    except (StyleError, OSError) as exc:
        return ChunkResult(FAILED, made, str(exc))
    return ChunkResult(DONE, made)


def run_chunk(job: ChunkJob, context: TaskContext) -> ChunkResult:
    """The task of one chunk (see the module docstring)."""
    lines = io.StringIO()
    with contextlib.redirect_stderr(lines):
        result = _attempt(job, context)
    messages = tuple(line for line in lines.getvalue().splitlines() if line.strip())
    return dataclasses.replace(result, messages=messages)
