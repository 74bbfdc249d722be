"""One video stylised without flicker (Ruder et al. 2016): its frames in order, each from the one before.

Frame 0 (or the first frame of a chunk) is stylised as a photo is, from noise, for the first-frame iterations.
Every later frame i starts from the finished frame i-1 warped onto frame i by the backward optical flow of the
content frames, and adds the temporal loss (vgg.style.temporal) that keeps it close to that warped frame
where the flow is reliable, for the frame iterations. The flows and their reliability do not depend on the
stylisation: they are computed ahead, for every frame still to do, in parallel processes, and kept in the
work folder until their frame is finished (vgg.video.work).

A chunk [start, end) of a long video, for another worker, starts ``lead`` frames before ``start``: its first
kept frame then already follows frames of its own, as in the middle of a run. It starts (at start - lead) not
from noise but from frame 0's stylisation (the work folder's, or made for it and not kept) warped onto that frame
by the content's backward flows of all the frames between, composed (vgg.video.flow.composed_backward): the
chunks then grow from one texture, as the frames of one run do, instead of settling on textures of their own
(vgg.video.chunks gives the figures). Its lead frames are kept apart (vgg.video.work): the video cross-fades
over them from the previous chunk's frames to this chunk's.
Every finished frame is placed in the work folder; the same call again goes on from the next unfinished one.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np

from ..report.listeners import Listener, broadcast
from ..style.config import StyleConfig
from ..style.loop import End, LossesRead
from ..style.pixels import to_uint8
from ..style.run import Run, TargetCache
from ..style.temporal import temporal_loss
from . import flow
from .settings import VideoSettings
from .source import Source
from .work import WorkFolder


@dataclass(frozen=True)
class FlowsDone:
    """The flows of ``pairs`` frames computed: ``seconds`` of wall time, ``compute`` summed over the processes."""

    pairs: int
    seconds: float
    compute: float


@dataclass(frozen=True)
class FrameDone:
    """Frame ``index`` of ``count`` finished (``kept``: placed in the work folder; a chunk's lead frames are not)."""

    index: int
    count: int
    seconds: float
    losses: dict[str, float]
    kept: bool


@dataclass(frozen=True)
class Plan:
    """What a call still has to do: frames [first, end), frames before ``keep`` not kept; ``anchored``: frame first
    continues from the finished frame first-1 (else it starts from noise)."""

    first: int
    keep: int
    end: int
    anchored: bool

    def flows(self) -> list[int]:
        """The frames whose backward flow is needed."""
        return [k for k in range(self.first, self.end) if k > self.first or self.anchored]


def plan(work: WorkFolder, start: int, end: int, lead: int = 0) -> Plan:
    """The plan for frames [start, end) with ``lead`` frames of lead-in, given what the work folder holds."""
    missing = work.first_missing(start, end)
    if missing > start:
        return Plan(missing, missing, end, True)
    return Plan(max(0, start - lead), start, end, False)


def _pair_job(folder: str, index: int, previous: np.ndarray, current: np.ndarray, preset: str) -> float:
    """In a worker process: the flows of (index-1, index) into the work folder; the seconds it took."""
    began = time.perf_counter()
    pair = flow.pair_flow(previous, current, preset)
    WorkFolder.at(folder).save_flow(index, pair.backward, pair.labels)
    return time.perf_counter() - began


def _pairs(source: Source, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(k, frame k-1, frame k) for each k in ``indices`` (ascending), decoding the clip once."""
    wanted, previous = set(indices), None
    for k, frame in enumerate(source.frames(indices[0] - 1), start=indices[0] - 1):
        if k in wanted:
            yield k, previous, frame
        previous = frame
        if k >= indices[-1]:
            return


def compute_flows(source: Source, work: WorkFolder, indices: Sequence[int], preset: str, workers: int) -> FlowsDone:
    """The flows of frames ``indices`` not in the work folder yet; in ``workers`` processes (0 or 1: this one)."""
    todo = [k for k in indices if not work.has_flow(k)]
    began = time.perf_counter()
    if not todo:
        return FlowsDone(0, 0.0, 0.0)
    if workers <= 1 or len(todo) < 4 * workers:  # a few frames: starting processes would cost more
        compute = sum(_pair_job(work.path, k, a, b, preset) for k, a, b in _pairs(source, todo))
        return FlowsDone(len(todo), time.perf_counter() - began, compute)
    compute, pending = 0.0, []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
        for k, a, b in _pairs(source, todo):
            pending.append(pool.submit(_pair_job, work.path, k, a, b, preset))
            if len(pending) >= 2 * workers:  # a bounded number of frames in flight
                compute += _wait(pending)
        compute += _wait(pending)
    return FlowsDone(len(todo), time.perf_counter() - began, compute)


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # the processes are the parallelism


def _wait(pending: list[Future]) -> float:
    seconds = sum(f.result() for f in pending)
    pending.clear()
    return seconds


def default_workers() -> int:
    return min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class VideoStylizer:
    """Stylises a clip's frames into a work folder; ``listen(index, run)``: listeners of the events of frame
    ``index``'s run (vgg.style.run.Run)."""

    def __init__(self, net: Any, source: Source, styles: Sequence[np.ndarray], config: StyleConfig,
                 settings: VideoSettings, work: WorkFolder,
                 listen: Callable[[int, Run], Sequence[Listener]] | None = None,
                 target_cache: TargetCache | None = None) -> None:  # fmt: skip
        self.net, self.source, self.styles, self.config = net, source, list(styles), config
        self.settings, self.work, self.listen = settings, work, listen
        self.target_cache: TargetCache = {} if target_cache is None else target_cache  # computed once, every frame

    def ranges(self, start: int = 0, end: int | None = None, lead: int = 0) -> list[tuple[int, int, int]]:
        """(start, end, lead) of what frames(start, end, lead) runs: the whole video (no arguments) is the work
        folder's chunks one after another (one chunk unless it was started split: vgg.video.work)."""
        if start == 0 and end is None:
            chunks = self.work.chunks(self.source.count)
            return [(a, b, chunks.lead) for a, b in chunks.ranges]
        return [(start, self.source.count if end is None else end, lead)]

    def flows(self, start: int = 0, end: int | None = None, lead: int = 0) -> FlowsDone:
        """The flows the frames [start, end) (no arguments: the whole video) still need, computed ahead."""
        indices = sorted({k for a, b, n in self.ranges(start, end, lead) for k in plan(self.work, a, b, n).flows()})
        workers = default_workers() if self.settings.flow_workers is None else self.settings.flow_workers
        return compute_flows(self.source, self.work, indices, self.settings.flow_preset, workers) if indices else \
            FlowsDone(0, 0.0, 0.0)  # fmt: skip

    def frames(self, start: int = 0, end: int | None = None, lead: int = 0) -> Iterator[FrameDone]:
        """Stylise frames [start, end) in order (a chunk: ``lead`` frames before it first; no arguments: the whole
        video, chunk by chunk), one event per frame."""
        for a, b, n in self.ranges(start, end, lead):
            yield from self._chunk(a, b, n)

    def _chunk(self, start: int, end: int, lead: int) -> Iterator[FrameDone]:
        p = plan(self.work, start, end, lead)
        if p.first >= p.end:
            return
        previous = self.work.load_frame(p.first - 1) if p.anchored else None
        anchor = self._anchor(p.first) if not p.anchored and p.first > 0 else None
        before = None  # content frame k-1
        for k, content in enumerate(self.source.frames(max(0, p.first - 1)), start=max(0, p.first - 1)):
            if k >= p.end:
                return
            if k >= p.first:
                done, previous = self._made(k, content, before, previous, k >= p.keep, anchor)
                anchor = None
                yield done
            before = content

    def _anchor(self, k: int) -> np.ndarray:
        """Where a chunk starting at frame k > 0 starts from: frame 0 as stylised (the work folder's, else made here
        and not kept), warped onto frame k by the content's backward flows of frames 1..k composed."""
        if 0 in self.work.done():
            first = self.work.load_frame(0)
        else:
            first = to_uint8(self._frame(0, next(self.source.frames(0)), None)[0]).astype(np.float32)
        frames = itertools.islice(self.source.frames(0), k + 1)
        return flow.warp(first, flow.composed_backward(frames, self.settings.flow_preset))

    def _made(self, k: int, content: np.ndarray, before: np.ndarray | None, previous: np.ndarray | None,
              kept: bool, anchor: np.ndarray | None = None) -> tuple[FrameDone, np.ndarray]:  # fmt: skip
        """Frame k made and placed; the image as placed. The flow of a kept frame is dropped once it is placed; a
        lead frame's is left for the previous chunk's own frame k, which another worker may make later."""
        began = time.perf_counter()
        if previous is not None and before is not None and not self.work.has_flow(k):  # another chunk dropped it
            _pair_job(self.work.path, k, before, content, self.settings.flow_preset)
        image, losses = self._frame(k, content, previous, anchor)
        image = to_uint8(image).astype(np.float32)  # what the PNG holds: a resumed run continues alike
        if kept:
            self.work.save_frame(k, image)
            self.work.drop_flow(k)
        else:
            self.work.save_lead(k, image)
        return FrameDone(k, self.source.count, time.perf_counter() - began, losses, kept), image

    def _frame(self, k: int, content: np.ndarray, previous: np.ndarray | None,
               anchor: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:  # fmt: skip
        """Frame k: from noise (no previous frame; a chunk's first: from its ``anchor``, vgg.video.chunks), or from
        the previous one warped, with the temporal loss."""
        s, config, extra, initial = self.settings, self.config, None, None
        if previous is None:
            config = dataclasses.replace(config, iterations=s.first_iterations(config.iterations))
            if anchor is not None:
                initial, config = anchor, dataclasses.replace(config, initial_noiseblend=0.0)
        else:
            saved = self.work.load_flow(k)
            if saved is None:  # not computed ahead (a caller that skipped flows()): now, here
                _pair_job(self.work.path, k, next(self.source.frames(k - 1)), content, s.flow_preset)
                saved = self.work.load_flow(k)
            backward, labels = saved
            initial = flow.warp(previous, backward)
            extra = {"temporal": temporal_loss(self.net, initial, flow.weights(labels), s.temporal_weight)}
            config = dataclasses.replace(config, iterations=s.frame_iterations, initial_noiseblend=0.0)
        run = Run(self.net, content, self.styles, initial, config, target_cache=self.target_cache, extra=extra)
        image, losses = None, {}
        for event in broadcast(run.events(), self.listen(k, run) if self.listen else []):
            if isinstance(event, LossesRead):
                losses = event.losses
            elif isinstance(event, End):
                image = event.image
        return image, losses
