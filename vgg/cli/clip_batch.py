"""The videos of a batch (vgg.cli.batch_run): each split into chunks (vgg.video.chunks), one task per chunk
(vgg.cli.clip_task), whose events the batch sees as the video's own; the video assembled here, by the client, once
every chunk of it is done.

Before any task starts, each video is read (its frames counted), and its work folder beside its output opened: made
(split into chunks when it is longer than a chunk), or found with the chunks it was started with (vgg.video.work).
The chunks with frames still to make become tasks. A video that cannot be read, or whose work folder is another
run's, fails alone, its line saying why. The batch sees one item per video: started with its first chunk, its
progress the frames made over all its chunks, ended when its last chunk ends: done (the video assembled and placed,
the work folder removed), interrupted (every finished frame kept in the work folder, from which the same command
goes on) or failed (the same, with the reason).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..batch.executor import (
    FAILED,
    FINISHED,
    LOCAL,
    PROGRESS,
    RESTARTED,
    STARTED,
    ExecutorOptions,
    Task,
    TaskEvent,
    worker_count,
)
from ..batch.summary import DONE, INTERRUPTED, ItemOutcome
from ..batch.summary import FAILED as ITEM_FAILED
from ..errors import StyleError
from . import checks, clip_task
from .batch import Item
from .clip_run import manifest, work_config
from .console import PROG

OnEvent = Callable[[TaskEvent], None]


@dataclass(frozen=True)
class VideoEnd:
    """How a video's chunks ended, the value of its FINISHED event (``outcome`` makes the item's end of it):
    ``status`` DONE, INTERRUPTED or FAILED (``reason``); ``source``: the clip (None if it could not be read)."""

    status: str
    source: Any = None
    reason: str = ""
    messages: tuple[str, ...] = ()


@dataclass
class _Video:
    """A video's chunks while they run: frames each still has to make, how far each is, how each ended."""

    item: Item
    source: Any
    finished: int  # its frames finished before this batch
    todo: dict[str, int] = field(default_factory=dict)  # chunk task key -> frames of its range it has to make
    fractions: dict[str, float] = field(default_factory=dict)
    ended: dict[str, clip_task.ChunkResult] = field(default_factory=dict)
    workers: list[str] = field(default_factory=list)
    began: float | None = None
    reported: bool = False

    def progress(self) -> tuple[int, int]:
        made = self.finished + sum(self.fractions.get(k, 0.0) * n for k, n in self.todo.items())
        return int(clip_task.UNIT * made), clip_task.UNIT * self.source.count


class Videos:
    """The videos among a batch's items to run: their tasks, and their chunks' events as the videos' events."""

    def __init__(self, items: Sequence[Item], options: ExecutorOptions, on_event: OnEvent) -> None:
        self.on_client = on_event
        self.videos: dict[str, _Video] = {}
        self.chunks: dict[str, str] = {}  # chunk task key -> the video's item name
        self.tasks_of: dict[str, list[Task]] = {}
        self.ready: list[TaskEvent] = []  # ends known before any task runs: emitted by start()
        sources = {it.name: self._read(it) for it in items}
        counts = [s.count for s in sources.values() if s is not None]
        length = _chunk_length(items, counts, options)
        for it in items:
            if sources[it.name] is not None:
                self._open(it, sources[it.name], length)

    def tasks(self, it: Item) -> list[Task]:
        """The tasks of video ``it``: one per chunk with frames still to make."""
        return self.tasks_of.get(it.name, [])

    def _read(self, it: Item) -> Any:
        from ..video.source import open_source

        inv = it.invocation
        try:
            source = open_source(inv.content, inv.content_kind, inv.width, inv.video.frame_rate)
            checks.check_side("--content", inv.content, source.hw)
        except (StyleError, OSError) as exc:
            self._end_now(it.name, VideoEnd(ITEM_FAILED, reason=str(exc)))
            return None
        return source

    def _open(self, it: Item, source: Any, length: int | None) -> None:
        """The video's work folder opened (made split into chunks of ``length`` frames), its tasks made."""
        import dataclasses

        from ..video.chunks import LEAD, chunk_ranges
        from ..video.work import ChunkPlan, WorkFolder

        inv, work = it.invocation, WorkFolder(it.invocation.output)
        split = length is not None and length < source.count
        wanted = ChunkPlan(chunk_ranges(source.count, length, LEAD), LEAD) if split else None
        try:
            config = work_config(inv, work)
            work.open(manifest(inv, source, config), inv.overwrite, wanted)
            chunks = work.chunks(source.count)
        except (StyleError, OSError) as exc:
            self._end_now(it.name, VideoEnd(ITEM_FAILED, source, str(exc)))
            return
        inv = dataclasses.replace(inv, config=config)  # the seed of the run that started the work folder
        done = work.done()
        video = self.videos[it.name] = _Video(it, source, len(done & set(range(source.count))))
        tasks = self.tasks_of[it.name] = []
        for start, end in chunks.ranges:
            missing = sum(k not in done for k in range(start, end))
            if missing:
                key = f"{it.name}/{start}-{end}"  # never an item's name: a file name holds no /
                self.chunks[key], video.todo[key] = it.name, missing
                job = clip_task.ChunkJob(it.name, inv, source, start, end, chunks.lead)
                tasks.append(Task(key, clip_task.run_chunk, job))
        if not tasks:  # every frame was finished before: only the assembly is left
            self._end_now(it.name, VideoEnd(DONE, source))

    def _end_now(self, name: str, end: VideoEnd) -> None:
        self.ready += [TaskEvent(STARTED, name, LOCAL), TaskEvent(FINISHED, name, LOCAL, value=end)]

    def start(self) -> None:
        """The videos that ended before any task ran (unreadable, or only their assembly left), to the batch."""
        for event in self.ready:
            self.on_client(event)

    def on_event(self, event: TaskEvent) -> None:
        """An event of run_tasks: a chunk's, as its video's; any other as it is."""
        name = self.chunks.get(event.key)
        if name is None:
            self.on_client(event)
            return
        video, key = self.videos[name], event.key
        if event.kind in (STARTED, RESTARTED):
            video.workers.append(event.worker)
            video.fractions[key] = 0.0
            if video.began is None or event.kind == RESTARTED:
                video.began = video.began or time.monotonic()
                self.on_client(TaskEvent(event.kind, name, event.worker))
        elif event.kind == PROGRESS:
            video.fractions[key] = event.done / event.total if event.total else 0.0
            self.on_client(TaskEvent(PROGRESS, name, event.worker, *video.progress()))
        elif event.kind in (FINISHED, FAILED):
            result = event.value if event.kind == FINISHED else clip_task.ChunkResult(ITEM_FAILED, reason=event.error)
            video.ended[key] = result
            if len(video.ended) == len(video.todo):
                self._report(video)

    def close(self) -> None:
        """After run_tasks: a video some of whose chunks ran and others did not (a stop, an executor that gave up)
        ends interrupted; one none of whose chunks started is left not run."""
        for video in self.videos.values():
            if not video.reported and video.began is not None:
                self._report(video)

    def _report(self, video: _Video) -> None:
        video.reported = True
        results = list(video.ended.values())
        failed = [r for r in results if r.status not in (clip_task.DONE, clip_task.INTERRUPTED)]
        if failed:
            end = VideoEnd(ITEM_FAILED, video.source, failed[0].reason)
        elif len(results) < len(video.todo) or any(r.status == clip_task.INTERRUPTED for r in results):
            end = VideoEnd(INTERRUPTED, video.source)
        else:
            end = VideoEnd(DONE, video.source)
        end = VideoEnd(end.status, end.source, end.reason, tuple(m for r in results for m in r.messages))
        workers = sorted(set(video.workers))
        where = workers[0] if len(workers) == 1 else f"{len(workers)} workers"
        seconds = time.monotonic() - (video.began or time.monotonic())
        self.on_client(TaskEvent(FINISHED, video.item.name, where, value=end, seconds=seconds))


def _chunk_length(items: Sequence[Item], counts: Sequence[int], options: ExecutorOptions) -> int | None:
    """Frames per chunk: --frames-per-chunk, else the default of vgg.video.chunks for the workers there are
    (None: one chunk per video, when a cluster cannot say how many workers it has)."""
    from ..video.chunks import frames_per_chunk

    given = next((it.invocation.video.frames_per_chunk for it in items), None)
    if given is not None:
        return given
    if not counts:
        return None
    workers = worker_count(options)
    return None if workers is None else frames_per_chunk(counts, workers)


def outcome(it: Item, end: VideoEnd, worker: str, seconds: float, say: Callable[[str], None]) -> ItemOutcome:
    """The outcome of video ``it``: when all its chunks are done, the video assembled and placed (here, by the
    client); else where its finished frames are."""
    from ..video.assemble import assemble
    from ..video.kinds import output_kind
    from ..video.work import WorkFolder

    for line in end.messages:
        say(f"{it.name}: {line.removeprefix(PROG + ': ')}")
    inv, work = it.invocation, WorkFolder(it.invocation.output)
    if end.source is None:
        return ItemOutcome(it.name, ITEM_FAILED, end.reason, worker, seconds)
    if end.status == DONE:
        try:
            notes = assemble(end.source, work, inv.output, output_kind(inv.output), inv.overwrite)
        except (StyleError, OSError) as exc:
            return ItemOutcome(it.name, ITEM_FAILED, f"{exc}; the finished frames are kept in {work.path}", worker,
                               seconds)  # fmt: skip
        for note in notes:
            say(f"{it.name}: {note}")
        say(f"done: {it.name} -> {inv.output} ({seconds:.1f} s, {worker})")
        return ItemOutcome(it.name, DONE, "", worker, seconds)
    frames = f"{len(work.done())} of {end.source.count} frames are finished in {work.path}"
    if end.status == INTERRUPTED:
        return ItemOutcome(it.name, INTERRUPTED, frames, worker, seconds)
    return ItemOutcome(it.name, ITEM_FAILED, f"{end.reason}; {frames}", worker, seconds)
