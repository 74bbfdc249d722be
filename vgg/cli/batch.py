"""Several contents in one command (a batch): its items, each the record a single run of its content would make;
the checks of each and of all together; the plan (which items are finished and are skipped).

An item's files are named from the flags with ``{name}`` filled in (vgg.batch.contents); --log without it is the
batch's own log (one line per item). Every item to run gets the checks of a single run (vgg.cli.checks); the
batch adds those of all the items' tables together: no file of one item is an output of another, nor the
batch log. Which items are finished follows from their outputs and marks (vgg.batch.marks): finished ones are
skipped (``--overwrite`` redoes them), unfinished ones that an earlier attempt left are redone, replacing the
files that attempt wrote.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..batch import contents, marks
from ..batch.executor import ExecutorOptions, check_options
from ..errors import ConfigError
from ..files import atomic, patterns
from ..report.batch import is_batch_log
from . import checks, invocation
from .flags import VIDEO_FLAGS, Parsed
from .invocation import INPUT, Invocation, RunFile

# The flags that name an item's own files: with several contents each must have {name} (--log: or be the batch's)
PER_ITEM = (("--output", "output"), ("--checkpoint-output", "checkpoint_output"),
            ("--progress-write", "progress_write"), ("--progress-plot", "progress_plot"), ("--log", "log"))  # fmt: skip
RUN, REDO, SKIP = "run", "redo", "skip"


@dataclass(frozen=True)
class Item:
    """One content of the batch: its name, its record, and the plan: RUN, REDO (an earlier attempt left it
    unfinished: its files are replaced) or SKIP (finished; ``note`` when skipped for another reason)."""

    name: str
    invocation: Invocation
    plan: str = RUN
    note: str = ""


@dataclass(frozen=True)
class Batch:
    """The items, where they run, the batch's own log (--log without {name}), and the record's shared flags."""

    items: tuple[Item, ...]
    options: ExecutorOptions
    log: str | None
    overwrite: bool
    progress: str
    dry_run: bool
    left_out: tuple[str, ...] = ()  # images of a --content folder that are outputs of this batch


def is_batch(values: Mapping[str, Any]) -> bool:
    """Whether the command line asks for a batch: several contents, a folder, --workers or --cluster, or a video in
    chunks (--frames-per-chunk: one task each, vgg.cli.clip_batch)."""
    content = values.get("content") or []
    distributed = values.get("workers") is not None or values.get("cluster") is not None
    chunked = values.get("frames_per_chunk") is not None
    return distributed or chunked or len(content) > 1 or any(os.path.isdir(c) for c in content)


def build(parsed: Parsed) -> Batch:
    """The batch the flags ask for (ConfigError, one line, for flags that cannot make one)."""
    values = dict(parsed.values)
    if values["resume"] is not None:
        raise ConfigError("--resume goes on with one run: not with several --content, a folder, --workers or --cluster")
    missing = [f"--{name}" for name in invocation.REQUIRED if values[name] is None]
    if missing:
        raise ConfigError(f"the following arguments are required: {', '.join(missing)}")
    backend = values["backend"]
    gpu = {"GPU": 1} if values["cluster"] is not None and backend == "cupy" else None
    options = ExecutorOptions(workers=values["workers"], cluster=values["cluster"], resources=gpu)
    check_options(options)
    files, from_folders = contents.expand(values["content"])
    batch_log = _batch_log(values, len(files) > 1 or bool(from_folders))
    if values["seed"] is None:
        values["seed"] = secrets.randbits(31)  # one seed for every item, drawn here so that each log names it
    items = [Item(contents.item_name(p), _record(values, parsed.given, p)) for p in files]
    items, left_out = _leave_out_outputs(items, from_folders)
    check_together(items, batch_log)
    return Batch(tuple(items), options, batch_log, values["overwrite"], values["progress"], values["dry_run"],
                 tuple(left_out))  # fmt: skip


def _batch_log(values: Mapping[str, Any], several: bool) -> str | None:
    """With ``several`` contents, ConfigError unless each per-item flag given has {name} (--output: or is a
    folder); the batch log. One content (on --workers, or a video in chunks) names its files as a single run does."""
    for flag, dest in PER_ITEM:
        value = values[dest]
        if not several or value is None or contents.NAME in value or dest == "log":
            continue
        if dest == "output" and (value.endswith(os.sep) or os.path.isdir(value)):
            continue
        example = {"output": "styled/{name}.jpg", "checkpoint_output": "checkpoints/{name}_%05d.png"}.get(
            dest, f"{{name}}{os.path.splitext(value)[1]}"
        )
        what = "a folder or a name with {name} in it" if dest == "output" else "a name with {name} in it"
        raise ConfigError(f"{flag} {value}: with several contents each needs its own file: give {what}, e.g. {example}")
    log = values["log"]
    return log if log is not None and contents.NAME not in log else None


def _record(values: Mapping[str, Any], given: Mapping[str, str], content: str) -> Invocation:
    """The record of the item of ``content``: the flags with its name filled in."""
    name = contents.item_name(content)
    output = contents.fill(contents.output_template(values["output"], content), name)
    own = {**values, "content": content, "output": output}
    for dest in ("checkpoint_output", "progress_write", "progress_plot", "log"):
        value = values[dest]
        has_name = value is not None and contents.NAME in value
        own[dest] = contents.fill(value, name, pattern=dest == "checkpoint_output") if has_name else None
    record, _ = invocation.build(Parsed(own, dict(given)))
    return record


def _outputs(item: Item) -> list[RunFile]:
    return [r for r in item.invocation.files() if r.kind != INPUT]


def _leave_out_outputs(items: list[Item], from_folders: set[str]) -> tuple[list[Item], list[str]]:
    """A folder's images that are outputs of this batch (a re-run over a folder that holds its results) are left
    out; a file named on the command line is not (check_together refuses it)."""
    written = {os.path.realpath(r.path) for item in items for r in _outputs(item) if not r.is_pattern}
    left = [i.invocation.content for i in items
            if i.invocation.content in from_folders and os.path.realpath(i.invocation.content) in written]  # fmt: skip
    out = [i for i in items if i.invocation.content not in left]
    return out, left


def check_together(items: list[Item], batch_log: str | None) -> None:
    """ConfigError if a file of one item is an output of another, or is the batch log."""
    owner: dict[str, tuple[str, RunFile]] = {}
    for item in items:
        for row in _outputs(item):
            if not row.is_pattern:
                owner.setdefault(os.path.realpath(row.path), (item.name, row))
    if batch_log is not None:
        owner.setdefault(os.path.realpath(batch_log), ("the batch", RunFile("--log", batch_log, "stream")))
    by_folder: dict[str, list[tuple[str, RunFile]]] = {}  # the patterns of the items, by the folder they fill
    for item in items:
        for r in _outputs(item):
            if r.is_pattern:
                by_folder.setdefault(_folder(patterns.checkpoint_name(r.path, 0)), []).append((item.name, r))
    for item in items:
        for row in item.invocation.files():
            taken = owner.get(os.path.realpath(row.path))
            if taken is not None and (taken[0] != item.name or taken[1].flag != row.flag):
                _refuse_twice(item.name, row, *taken)
            for other, pattern in by_folder.get(_folder(row.path), ()):
                if other != item.name and patterns.iteration_of(pattern.path, row.path) is not None:
                    _refuse_twice(item.name, row, other, pattern)


def _folder(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def _refuse_twice(name: str, row: RunFile, other: str, other_row: RunFile) -> None:
    if row.kind == INPUT:
        raise ConfigError(f"{row.flag} {row.path} of {name} is also {other_row.flag} of {other}; an input is never "
                          "overwritten")  # fmt: skip
    raise ConfigError(f"{row.flag} {row.path} of {name} is also {other_row.flag} of {other}: one file would be "
                      "written twice")  # fmt: skip


def plan(item: Item, overwrite: bool) -> Item:
    """The item with its plan, from its output and its mark (see the module docstring)."""
    output = item.invocation.output
    mark, exists = marks.read(output), os.path.exists(output)
    if mark is None or (mark.state == marks.RUNNING and exists):
        if mark is not None:
            marks.release(output)  # the output went in place and the process ended before its mark went
        return dataclasses.replace(item, plan=RUN if overwrite or not exists else SKIP)
    changed = marks.changed(mark) if mark.state == marks.LEFT else []
    if changed and not overwrite:
        note = f"{changed[0]} was changed since an earlier batch left the item unfinished; --overwrite redoes it"
        return dataclasses.replace(item, plan=SKIP, note=note)
    return dataclasses.replace(item, invocation=dataclasses.replace(item.invocation, overwrite=True), plan=REDO)


def planned(batch: Batch) -> Batch:
    """The batch with each item's plan, every item to run checked as a single run is (ConfigError, ImageError)."""
    items = tuple(plan(item, batch.overwrite) for item in batch.items)
    for inv in _one_of_each_kind([item.invocation for item in items]):
        checks.check_flags(inv)
    for item in items:
        if item.plan != SKIP:
            checks.check_files(item.invocation)
    if batch.log is not None:
        _check_batch_log(batch.log, batch.overwrite)
    return dataclasses.replace(batch, items=items)


def _one_of_each_kind(records: list[Invocation]) -> list[Invocation]:
    """A photo's record and a video's, to check the flags of each kind once; with videos in the batch, the video
    flags are theirs, and the photo's record is checked without them."""
    photo = next((r for r in records if not r.is_clip), None)
    clip = next((r for r in records if r.is_clip), None)
    if photo is not None and clip is not None:
        photo = dataclasses.replace(photo, given={k: v for k, v in photo.given.items() if k not in VIDEO_FLAGS})
    return [r for r in (photo, clip) if r is not None]


def _check_batch_log(path: str, overwrite: bool) -> None:
    """The batch log is appended to when it is one (a re-run of the batch), else it needs --overwrite if there."""
    atomic.check_writable(path, overwrite=overwrite or is_batch_log(path))


def item_files(inv: Invocation) -> list[str]:
    """The files of an item that exist now: its outputs, and its checkpoints and states."""
    found = []
    for row in inv.files():
        if row.is_pattern:
            found += list(patterns.existing_files(row.path, lambda i: True))
        elif row.kind != INPUT and os.path.isfile(row.path):
            found.append(row.path)
    return found
