"""A batch, run: its items as tasks (vgg.batch.executor) serially here, on local workers or on a cluster; each
image written here, by the client, as it comes back, so that what is finished is decided in one place; the
progress on the terminal, to ``on_progress`` and in the batch log; the summary and the exit status.

An item's result goes to its --output by the rules of a single run (atomic, never over a file without
--overwrite), then its mark goes (vgg.batch.marks). An item that ends unfinished (interrupted: its best image so
far; a loss that is no longer finite: the best finite one; an error) keeps a LEFT mark listing the files it
left, so that the same command again redoes it instead of taking its image for a result.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..batch import marks
from ..batch.executor import FAILED, FINISHED, PROGRESS, RESTARTED, STARTED, STOPPING, Task, TaskEvent, run_tasks
from ..batch.progress import END, START, BatchProgress, BatchTracker
from ..batch.summary import DONE, NOT_RUN, SKIPPED, ItemOutcome, Summary
from ..batch.summary import FAILED as ITEM_FAILED
from ..batch.summary import INTERRUPTED as ITEM_INTERRUPTED
from ..report.batch import BatchLog, BatchView
from . import clip_batch, dry_run, flags, item, signals
from .batch import SKIP, Batch, Item, build, item_files, planned
from .batch_page import BatchPage
from .console import PROG, error, warning
from .page import served
from .results import Writer

OnProgress = Callable[[BatchProgress], None]


class _Client:
    """The client's side of the items: events to progress, results to files and outcomes."""

    def __init__(self, batch: Batch, token: str, view: BatchView, tracker: BatchTracker, log: BatchLog | None,
                 on_progress: OnProgress | None, page: BatchPage | None) -> None:  # fmt: skip
        self.items = {i.name: i for i in batch.items}
        self.token, self.view, self.tracker, self.log, self.on_progress = token, view, tracker, log, on_progress
        self.page = page
        self.outcomes: dict[str, ItemOutcome] = {}

    def say(self, text: str) -> None:
        self.view.line(f"{PROG}: {text}")

    def emit(self, progress: BatchProgress) -> None:
        self.view.update(progress)
        if self.page is not None:
            self.page.progress(progress)
        if self.on_progress is not None:
            self.on_progress(progress)

    def on_event(self, event: TaskEvent) -> None:
        name = event.key
        if event.kind == STOPPING:
            if self.page is not None:
                self.page.stop()
            self.say("stopping: no new item starts, the running ones save their best images so far (again: leave "
                     "at once)")  # fmt: skip
        elif event.kind in (STARTED, RESTARTED):
            if event.kind == RESTARTED:
                self.say(f"{name}: the worker running it died; it runs again on {event.worker}")
            self.emit(self.tracker.started(name, event.worker, again=event.kind == RESTARTED))
        elif event.kind == PROGRESS:
            self.emit(self.tracker.progressed(name, event.done, event.total))
        elif event.kind in (FINISHED, FAILED):
            inv = self.items[name].invocation
            if event.kind == FINISHED:
                outcome = self._finished(self.items[name], event.value, event.worker, event.seconds)
            else:
                outcome = self._left(self.items[name], ITEM_FAILED, event.error, event.worker, event.seconds)
            self.outcomes[name] = outcome
            self.log_outcome(outcome, content=inv.content, output=inv.output)
            self.emit(self.tracker.ended(name, outcome.status, outcome.reason or outcome.worker))

    def log_outcome(self, outcome: ItemOutcome, **extra: Any) -> None:
        """The item's line in the batch log, if there is one (a log that fails is reported once, then left out)."""
        if self.log is None:
            return
        try:
            self.log.item(outcome, **extra)
        except OSError as exc:
            warning(f"the batch log: {exc}; the batch goes on without it")
            self.log = None

    def _finished(self, it: Item, result: item.ItemResult, worker: str, seconds: float) -> ItemOutcome:
        if isinstance(result, clip_batch.VideoEnd):  # a video: assembled here once all its chunks are done
            return clip_batch.outcome(it, result, worker, seconds, self.say)
        for line in result.messages:
            self.say(f"{it.name}: {line.removeprefix(PROG + ': ')}")
        output = it.invocation.output
        if result.status == item.DONE:
            saved = self._write(it, result.image, "the result")
            if saved == output:
                marks.release(output)
                self.say(f"done: {it.name} -> {output} ({seconds:.1f} s, {worker})")
                return ItemOutcome(it.name, DONE, "", worker, seconds)
            kept = f"; it is in {saved}" if saved else ""
            return self._left(it, ITEM_FAILED, f"the result could not be written to {output}{kept}", worker, seconds)
        if result.status == item.FAILED:
            return self._left(it, ITEM_FAILED, result.reason, worker, seconds)
        what = "the best image so far" if result.status == item.INTERRUPTED else "the best finite image"
        marks.leave(output, self.token, [], result.status)  # before the image: it is never taken for a result
        saved = None if result.image is None else self._write(it, result.image, what)
        marks.leave(output, self.token, item_files(it.invocation), result.status)
        where = f"{what} saved to {saved}" if saved else "no image to save"
        if result.status == item.INTERRUPTED:
            return ItemOutcome(it.name, ITEM_INTERRUPTED, where, worker, seconds)
        return ItemOutcome(it.name, ITEM_FAILED, f"{result.reason}; {where}", worker, seconds)

    def _write(self, it: Item, image: np.ndarray, what: str) -> str | None:
        if self.page is not None:
            self.page.result(it.name, image)
        return Writer(it.invocation.output, None, it.invocation.overwrite).result(image, what)

    def _left(self, it: Item, status: str, reason: str, worker: str, seconds: float) -> ItemOutcome:
        """An item that ended without a result: its mark lists the files it left, or goes if it left none."""
        files = item_files(it.invocation)
        if files:
            marks.leave(it.invocation.output, self.token, files, reason)
        else:
            marks.release(it.invocation.output)
        return ItemOutcome(it.name, status, reason, worker, seconds)


def _open_log(batch: Batch, todo: Sequence[Item], skipped: int) -> BatchLog | None:
    if batch.log is None:
        return None
    first = batch.items[0].invocation
    where = {"workers": batch.options.workers, "cluster": batch.options.cluster}
    head = {"items": len(batch.items), "to_run": [i.name for i in todo], "skipped": skipped, **where,
            "settings": first.flag_values, "seed": first.config.seed}  # fmt: skip
    return BatchLog(batch.log, head, first.config.backend, batch.overwrite)


def run(batch: Batch, on_progress: OnProgress | None = None, page: BatchPage | None = None) -> Summary:
    """Run a planned batch (vgg.cli.batch.planned); its summary, printed (and on ``page``, with --web)."""
    view = BatchView(None, batch.progress)
    todo = [i for i in batch.items if i.plan != SKIP]
    skipped = [ItemOutcome(i.name, SKIPPED, i.note) for i in batch.items if i.plan == SKIP]
    if batch.left_out:
        view.line(f"{PROG}: left out {len(batch.left_out)} images of the --content folders that are outputs of "
                  f"this batch ({batch.left_out[0]}{', ...' if len(batch.left_out) > 1 else ''})")  # fmt: skip
    if skipped:
        view.line(f"{PROG}: skipping {len(skipped)} of {len(batch.items)} items whose outputs are there already "
                  "(--overwrite redoes them)")  # fmt: skip
    tracker, token = BatchTracker(len(batch.items), len(skipped)), uuid.uuid4().hex
    client = _Client(batch, token, view, tracker, _open_log(batch, todo, len(skipped)), on_progress, page)
    for outcome in skipped:
        inv = client.items[outcome.name].invocation
        client.log_outcome(outcome, content=inv.content, output=inv.output)
    client.emit(tracker.record(START))
    live = page.listen if page is not None and not batch.options.distributed else None  # a live run is here
    try:
        videos = clip_batch.Videos([i for i in todo if i.invocation.is_clip], batch.options, client.on_event)
        tasks = [t for i in todo for t in (videos.tasks(i) if i.invocation.is_clip else [_task(i, token, live)])]
        videos.start()
        finished = run_tasks(tasks, batch.options, videos.on_event)
        videos.close()
    finally:
        view.close()
        item.forget()  # a Python session that ran a serial batch does not keep 500 MB of network
    outcomes = {o.name: o for o in skipped} | client.outcomes
    ordered = tuple(outcomes.get(i.name, ItemOutcome(i.name, NOT_RUN)) for i in batch.items)
    summary = Summary(ordered, finished.stopped, finished.lost)
    client.emit(tracker.record(END))
    if page is not None:
        page.ended(summary)
    if client.log is not None:
        client.log.end(summary)
        client.log.close()
    for line in summary.lines():
        view.line(f"{PROG}: {line}")
    return summary


def _task(it: Item, token: str, live: item.Listen | None) -> Task:
    return Task(it.name, item.run_item, item.ItemJob(it.name, it.invocation, token, live))


def dry_run_batch(batch: Batch) -> int:
    """--dry-run of a batch: each item to run checked and estimated as a single dry run, here, one by one."""
    for it in batch.items:
        if it.plan == SKIP:
            print(f"{it.name}: skipped (its output is there already)")
            continue
        print(f"{it.name}:\n{dry_run.report(item.session.make_run(it.invocation, None, item.cached_network))}")
    return 0


def main(parsed: flags.Parsed) -> int:
    """The command line's batch: build, check, plan, run; the exit status (bad input raises, as for one run)."""
    batch = planned(build(parsed))
    if batch.dry_run:
        return dry_run_batch(batch)
    try:
        with served(batch.items[0].invocation) as server:
            return run(batch, page=None if server is None else BatchPage(server, batch)).exit_status
    except signals.ENDING as exc:  # a second signal: leave at once
        code = signals.exit_status(exc)
        error(f"{signals.WORDS[code]} again; leaving at once; every finished output is kept")
        return code


def stylize_batch(
    contents: Sequence[str | os.PathLike],
    styles: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    on_progress: OnProgress | None = None,
    **options: Any,
) -> Summary:
    """The batch the command line would run for ``--content CONTENTS --styles STYLES --output OUTPUT`` and the
    flags in ``options`` (their names with _ for -: ``network``, ``iterations``, ``workers``, ``cluster``,
    ``log``, ``overwrite``, ...), also for one content. ``on_progress`` is called with each BatchProgress.
    Bad input raises the error a run would print (vgg.ConfigError, ImageError, ...); the Summary has every
    item's outcome and ``exit_status``."""
    values = {"content": [os.fspath(c) for c in contents], "styles": [os.fspath(s) for s in styles],
              "output": os.fspath(output), **options}  # fmt: skip
    return run(planned(build(flags.from_options(values))), on_progress)
