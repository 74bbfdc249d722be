"""One item of a batch as a task (vgg.batch.executor): one content through the run a single invocation makes, in
whatever process the executor runs it (this one, or a Dask worker), handing the image back to the client, which
alone writes the outputs (vgg.cli.batch_run).

Each process loads a network file once and keeps it (``_NETWORKS``), and computes the style targets once per
style size for the batch's styles and keeps them (``_TARGETS``): every later item of that size reuses them. The
item's own files written as it goes (checkpoints and states, --log, --progress-write, --progress-plot) are
written here, with the rules of a single run; its lines (warnings) are handed back instead of printed. At each
iteration it reports its progress and looks whether the batch is stopping: then it hands back the best image so
far. The item's mark (vgg.batch.marks) is claimed at the start: a mark that was there means an earlier attempt
(its worker died, or an earlier batch left it) wrote the item's files, which this attempt then replaces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.backend import BackendError

from ..batch import marks
from ..batch.executor import TaskContext
from ..errors import LossNotFiniteError, StyleError
from ..files import atomic, patterns
from ..report.listeners import Listener, broadcast
from ..style.loop import Checkpoint, End, Event, IterationDone
from ..style.pixels import to_uint8
from ..style.run import TargetCache
from . import checks, session
from .invocation import CHECKPOINTS, IMAGE, STATES, Invocation
from .results import Writer

DONE, INTERRUPTED, NOT_FINITE, FAILED = "done", "interrupted", "not finite", "failed"
_NETWORKS: dict[tuple[Any, ...], Any] = {}  # (file, its size and time, pooling, backend) -> VGG19
_TARGETS: dict[tuple[Any, ...], TargetCache] = {}  # (network key, the style files, their scales) -> targets


# More listeners of an item's run: (name, record, run, writer) -> listeners; only for items run in this process
Listen = Callable[[str, Invocation, Any, Writer], Sequence[Listener]]


@dataclass(frozen=True)
class ItemJob:
    """The payload of an item's task: its name, its record, the batch's token (vgg.batch.marks), and ``listen``
    (the page's live view) when it runs in this process (a Dask task's payload is sent: it has none)."""

    name: str
    invocation: Invocation
    token: str
    listen: Listen | None = None


@dataclass(frozen=True)
class ItemResult:
    """What an item's task hands back. ``status``: DONE (``image``: the result), INTERRUPTED (the best image so
    far, None before the first), NOT_FINITE (the best finite one, or None; ``reason``), FAILED (``reason``, one
    line); images as 8-bit RGB. ``messages``: the lines it would have printed; ``replaced``: it replaced the
    files of an earlier attempt."""

    status: str
    image: np.ndarray | None = None
    reason: str = ""
    messages: tuple[str, ...] = ()
    replaced: bool = False


class Stopped(Exception):  # noqa: N818 - no error: the batch asked for it
    """The batch is stopping: the item ends after this iteration with its best image so far."""


class _Watch(Listener):
    """Reports each iteration to the executor and stops the run when the batch stops."""

    def __init__(self, context: TaskContext) -> None:
        self.context = context

    def on(self, event: Event) -> None:
        if isinstance(event, IterationDone):
            self.context.progress(event.i + 1, event.n)
            if self.context.stopping():
                raise Stopped()


def _identity(path: str) -> tuple[str, int, int]:
    stat = os.stat(path)
    return os.path.realpath(path), stat.st_size, stat.st_mtime_ns


def network_key(inv: Invocation) -> tuple[Any, ...]:
    return (*_identity(inv.network), inv.config.pooling, inv.config.backend)


def cached_network(inv: Invocation) -> Any:
    """The network of ``inv``, loaded once per process."""
    key = network_key(inv)
    if key not in _NETWORKS:
        _NETWORKS.clear()  # another network (a changed file): the old one's memory goes
        _NETWORKS[key] = session.load(inv)
    return _NETWORKS[key]


def cached_targets(inv: Invocation) -> TargetCache:
    """The style targets shared by the items of ``inv``'s network and styles (keyed by style and size within)."""
    key = (network_key(inv), tuple(_identity(s) for s in inv.styles), tuple(checks.style_scales(inv)))
    return _TARGETS.setdefault(key, {})


def forget() -> None:
    """Drop this process's network and style targets (a serial batch is over; a worker keeps them)."""
    _NETWORKS.clear()
    _TARGETS.clear()


def _image(image: Any) -> np.ndarray | None:
    return None if image is None else to_uint8(image)


def _attempt(inv: Invocation, context: TaskContext, job: ItemJob) -> ItemResult:
    """The run of one item; every way it ends as an ItemResult."""
    try:
        loop = session.make_run(inv, None, cached_network, cached_targets(inv))
    except (StyleError, BackendError, OSError) as exc:
        return ItemResult(FAILED, reason=str(exc))
    except MemoryError as exc:
        return ItemResult(FAILED, reason=f"out of memory while reading the inputs ({exc or type(exc).__name__})")
    writer = Writer(inv.output, inv.checkpoint_output, inv.overwrite)
    more = job.listen(job.name, inv, loop, writer) if job.listen is not None else []
    events = broadcast(loop.events(), [*session.listeners(inv, loop, terminal=False), *more, _Watch(context)])
    try:
        for event in events:
            if isinstance(event, Checkpoint):
                writer.checkpoint(event.i, event.image)
            elif isinstance(event, End):
                return ItemResult(DONE, _image(event.image))
    except Stopped:
        return ItemResult(INTERRUPTED, _image(loop.best_image()))
    except LossNotFiniteError as exc:
        return ItemResult(NOT_FINITE, _image(exc.image), str(exc))
    except MemoryError as exc:
        return ItemResult(FAILED, reason=f"{checks.out_of_memory(inv, loop.content, loop.styles)} ({exc})")
    except (StyleError, OSError) as exc:
        return ItemResult(FAILED, reason=str(exc))
    return ItemResult(FAILED, reason="the run ended without its last image")


def remove_temporaries(inv: Invocation) -> None:
    """The hidden temporary files a dead attempt left beside the item's images, checkpoints and states."""
    rows = [r for r in inv.files() if r.kind in (IMAGE, CHECKPOINTS, STATES)]
    for directory in {os.path.dirname(os.path.abspath(r.path)) for r in rows}:
        for entry in os.listdir(directory) if os.path.isdir(directory) else ():
            target = atomic.temporary_target(os.path.join(directory, entry))
            if target is not None and any(_is_file_of(r, target) for r in rows):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, entry))


def _is_file_of(row: Any, path: str) -> bool:
    if row.is_pattern:
        return patterns.iteration_of(row.path, path) is not None
    return os.path.abspath(row.path) == os.path.abspath(path)


def _log_line(inv: Invocation, name: str, worker: str, seconds: float, result: ItemResult) -> None:
    """The item's line in its own --log: where it ran and how long it took."""
    if inv.log is None:
        return
    record = {"event": "batch item", "item": name, "worker": worker, "seconds": seconds, "status": result.status}
    with contextlib.suppress(OSError), open(inv.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def run_item(job: ItemJob, context: TaskContext) -> ItemResult:
    """The task of one item (see the module docstring)."""
    start, inv = time.monotonic(), job.invocation
    replaced = marks.claim(inv.output, job.token) is not None
    if replaced:
        inv = dataclasses.replace(inv, overwrite=True)
        remove_temporaries(inv)
    lines = io.StringIO()
    with contextlib.redirect_stderr(lines):
        result = _attempt(inv, context, job)
    _log_line(inv, job.name, context.worker, time.monotonic() - start, result)
    messages = tuple(line for line in lines.getvalue().splitlines() if line.strip())
    return dataclasses.replace(result, messages=messages, replaced=replaced)
