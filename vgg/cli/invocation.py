"""The record of one invocation: built once from the parsed flags (and, with --resume, the saved run), frozen.

Everything after ``build()`` reads this record, never the flags: the checks, the run, its listeners and
the dry run. ``Invocation.files()`` is the one table of the files the run reads and writes (its flag, its
path, what kind of file it is); every collision and overwrite check follows from it (vgg.cli.checks).

With --resume the saved run's flags are taken from the state (``RESUMABLE``), except this invocation's own
(``OWN``) and those that may be given again (``MAY_OVERRIDE``). Paths are saved absolute and relative to the
state's directory: a run folder that was moved or renamed resumes from its new place, its own outputs
written there, its inputs found there when they are gone from where they were.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, NetworkFileError, StateError
from ..files.patterns import checkpoint_name
from ..files.state import load_state, state_name
from ..net.discovery import describe_places, find_network
from ..net.releases import DEFAULT_NAMES
from ..style.config import StyleConfig, make_config
from ..style.schedule import Schedule
from ..video import kinds
from ..video.settings import VideoSettings
from .console import say
from .flags import NETWORK, VIDEO_FLAGS, Parsed, setting_names

# The kinds of file in the table: read; written whole (atomically) as an image or as text as the run goes;
# a name pattern the run writes a file of at each checkpoint
INPUT, IMAGE, STREAM, CHECKPOINTS, STATES = "input", "image", "stream", "checkpoint images", "resume states"
# A clip as --content: numbered frames read; a video written whole (atomically); numbered frames written (each
# atomically); the work folder beside the output (vgg.video.work)
FRAMES_IN, VIDEO, FRAMES_OUT, WORK = "numbered frames in", "video", "numbered frames", "work folder"
# This invocation's own, never taken from a state
OWN = ("resume", "overwrite", "progress", "progress_write", "progress_plot", "log", "dry_run", "keep_states", "web",
       "web_linger")  # fmt: skip
# With --resume: taken from the state unless given again (the inputs when the saved ones are gone)
MAY_OVERRIDE = ("output", "network", "content", "styles", "initial", "checkpoint_output")
PATH_FLAGS = ("content", "styles", "initial", "network", "output", "checkpoint_output")
INPUT_FLAGS = ("content", "styles", "initial", "network")
REQUIRED = ("content", "styles", "output")
COMMAND = "python -m vgg.download"


@dataclass(frozen=True)
class RunFile:
    """One row of the table: the flag that names it, its path (a pattern for CHECKPOINTS and STATES), its kind;
    ``append``: a STREAM a resumed run goes on with (no --overwrite needed, never truncated)."""

    flag: str
    path: str
    kind: str
    append: bool = False

    @property
    def is_output(self) -> bool:
        return self.kind in (IMAGE, STREAM, VIDEO)

    @property
    def is_pattern(self) -> bool:
        return self.kind in (CHECKPOINTS, STATES)


@dataclass(frozen=True)
class Resumed:
    """The state a run goes on from: its path, the iteration of its checkpoint, and what it was saved with."""

    path: str
    iteration: int
    meta: Mapping[str, Any]


@dataclass(frozen=True)
class Invocation:
    config: StyleConfig
    content: str
    styles: tuple[str, ...]
    output: str
    network: str
    initial: str | None = None
    checkpoint_output: str | None = None
    width: int | None = None
    progress: str = "auto"
    progress_write: str | None = None
    progress_plot: str | None = None
    log: str | None = None
    overwrite: bool = False
    keep_states: int = 1
    tf32: bool = False
    dry_run: bool = False
    web: tuple[str, int] | None = None  # --web: (host, port) of the run's page
    web_linger: float = 10.0  # --web-linger: seconds the page's server may wait for the pages after the run
    resume: Resumed | None = None
    given: Mapping[str, str] = dataclasses.field(default_factory=dict)  # {dest: flag} typed on the command line
    content_kind: str = kinds.IMAGE  # or a clip: kinds.VIDEO, kinds.FRAMES (vgg.video.kinds)
    video: VideoSettings = dataclasses.field(default_factory=VideoSettings)  # used with a clip only

    @property
    def is_clip(self) -> bool:
        """Whether --content is a video or numbered frames."""
        return self.content_kind != kinds.IMAGE

    @property
    def flag_values(self) -> dict[str, Any]:
        """Every flag's value as the command line would give it (settings included)."""
        skipped = ("config", "given", "content_kind", "video")
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skipped}
        values["styles"] = list(self.styles)
        values["resume"] = self.resume.path if self.resume else None
        values.update({name: getattr(self.config, name) for name in setting_names()})
        return values

    def schedule(self) -> Schedule:
        c = self.config
        return Schedule.of(c.stage_iterations(), c.print_iterations, c.checkpoint_iterations, c.readback())

    def resumed_after(self) -> int:
        """The iteration of the state a resumed run goes on from (-1 without --resume): it writes only later files."""
        return -1 if self.resume is None else self.resume.iteration

    def continues(self, dest: str) -> bool:
        """Whether this resumed run was given the saved run's own --log / --progress-write file, which it then
        appends to (never truncated, no --overwrite needed)."""
        value = getattr(self, dest)
        if value is None or self.resume is None:
            return False
        saved = self.resume.meta.get("cli", {}).get("streams", {}).get(dest)
        return saved is not None and os.path.abspath(value) == saved

    def files(self) -> tuple[RunFile, ...]:
        """The one table of the run's files (see the module docstring)."""
        if self.is_clip:
            return self._clip_files()
        rows = [RunFile("--content", self.content, INPUT)]
        rows += [RunFile("--styles", s, INPUT) for s in self.styles]
        state = self.resume.path if self.resume else None
        named = (("--initial", self.initial), ("--network", self.network), ("--resume", state))
        rows += [RunFile(flag, path, INPUT) for flag, path in named if path]
        rows.append(RunFile("--output", self.output, IMAGE))
        if self.checkpoint_output is not None:
            rows.append(RunFile("--checkpoint-output", self.checkpoint_output, CHECKPOINTS))
            rows.append(RunFile("--checkpoint-output", state_name(self.checkpoint_output), STATES))
        for flag, dest, kind in (("--progress-write", "progress_write", STREAM), ("--progress-plot", "progress_plot",
                                 IMAGE), ("--log", "log", STREAM)):  # fmt: skip
            if getattr(self, dest) is not None:
                rows.append(RunFile(flag, getattr(self, dest), kind, kind == STREAM and self.continues(dest)))
        return tuple(rows)

    def _clip_files(self) -> tuple[RunFile, ...]:
        """The table of a clip's run: the content, styles and network read, the output and its work folder."""
        rows = [RunFile("--content", self.content, FRAMES_IN if self.content_kind == kinds.FRAMES else INPUT)]
        rows += [RunFile("--styles", s, INPUT) for s in self.styles]
        rows.append(RunFile("--network", self.network, INPUT))
        out = FRAMES_OUT if kinds.output_kind(self.output) == kinds.FRAMES else VIDEO
        rows.append(RunFile("--output", self.output, out))
        rows.append(RunFile("--output", os.path.abspath(self.output) + ".frames", WORK))
        return tuple(rows)

    def saved(self) -> dict[str, Any]:
        """What a state saves of this invocation to resume with: the values, the paths absolute and relative to
        the states' directory, the streams it writes (a resumed run appends to them when given them again)."""
        values = {k: v for k, v in self.flag_values.items() if k not in OWN and k not in PATH_FLAGS}
        base = self.states_dir()
        paths = {}
        for dest in PATH_FLAGS:
            value = getattr(self, dest)
            items = value if isinstance(value, tuple) else (value,)
            if value is not None:
                paths[dest] = [[os.path.abspath(p), os.path.relpath(os.path.abspath(p), base)] for p in items]
        streams = {d: os.path.abspath(getattr(self, d)) for d in ("log", "progress_write") if getattr(self, d)}
        return {"values": values, "paths": paths, "states_dir": base, "streams": streams}

    def states_dir(self) -> str:
        """The directory the resume states go to (beside the checkpoint images)."""
        pattern = self.checkpoint_output or self.output
        return os.path.dirname(os.path.abspath(checkpoint_name(pattern, 0) if self.checkpoint_output else pattern))


def flag_names(message: str) -> str:
    """StyleConfig's field names in a message, as the flags a CLI user typed (learning_rate -> --learning-rate)."""
    for field in dataclasses.fields(StyleConfig):
        message = re.sub(rf"(?<![-\w/.'%]){field.name}\b", "--" + field.name.replace("_", "-"), message)
    return message


def _config(values: Mapping[str, Any], n_styles: int) -> StyleConfig:
    config = make_config(None, {name: values[name] for name in setting_names()})
    try:
        config.validate(n_styles)
    except ConfigError as exc:
        raise ConfigError(flag_names(str(exc))) from None
    return config


def resolve_network(name: str, by_default: bool = False) -> str:
    """The network file a --network value names (a bare name: looked for in vgg.net.discovery's places); with
    ``by_default`` (no --network given) any known weight file found there, which a note names."""
    found = find_network(None if by_default else name)
    if found is not None:
        if by_default:
            say("note", f"no --network given: using {os.path.abspath(found)}")
        return found
    if by_default:
        raise NetworkFileError(
            f"no --network given, and none of {', '.join(DEFAULT_NAMES)} is in {describe_places()} "
            f"(fetch one with: {COMMAND}; or pass --network PATH)"
        )
    command = COMMAND if name == NETWORK else f"{COMMAND} --output {shlex.quote(name)}"
    if os.path.dirname(name):
        raise NetworkFileError(f"network {name} does not exist (fetch it with: {command})")
    raise NetworkFileError(
        f"network {name} is not in {describe_places()} (fetch it with: {command}; or pass --network PATH)"
    )


def build(parsed: Parsed) -> tuple[Invocation, dict[str, np.ndarray] | None]:
    """The record, and with --resume the state's arrays (handed to the run once, never kept in the record)."""
    values, given = dict(parsed.values), dict(parsed.given)
    arrays, resumed = None, None
    if values["resume"] is not None:
        arrays, resumed, saved = _load_resume(values["resume"], given)
        values.update(saved)
    if isinstance(values["content"], (list, tuple)):  # --content takes several; one run is of one (vgg.cli.batch)
        if len(values["content"]) != 1:
            raise ConfigError("one run takes one --content file (several are a batch: vgg.cli.batch)")
        values["content"] = values["content"][0]
    missing = [f"--{name}" for name in REQUIRED if values[name] is None]
    if missing:
        raise ConfigError(f"the following arguments are required: {', '.join(missing)} (or --resume STATE)")
    if values["seed"] is None:
        values["seed"] = secrets.randbits(31)  # drawn here, so that the log and the states name it
    config = _config(values, len(values["styles"]))
    if resumed is not None:
        _check_resumed_iteration(resumed, arrays, config)
    own = {"config", "resume", "given", "network", "styles", "content_kind", "video"}
    fields = {f.name for f in dataclasses.fields(Invocation)} - own
    invocation = Invocation(
        config=config,
        styles=tuple(values["styles"]),
        network=resolve_network(values["network"], by_default="network" not in given and values["network"] == NETWORK),
        resume=resumed,
        given=given,
        content_kind=kinds.content_kind(values["content"]),
        video=_video_settings(values),
        **{name: values[name] for name in fields},
    )
    return invocation, arrays


def _video_settings(values: Mapping[str, Any]) -> VideoSettings:
    settings = VideoSettings(**{name: values[name] for name in VIDEO_FLAGS})
    settings.validate()
    return settings


def _check_resumed_iteration(resumed: Resumed, arrays: dict[str, np.ndarray], config: StyleConfig) -> None:
    """StateError unless the state's iteration is a checkpoint of the saved run and its stage holds it (what the
    run checks again, here before any file is looked at)."""
    schedule = Schedule.of(config.stage_iterations(), checkpoint_every=config.checkpoint_iterations)
    if not schedule.is_checkpoint(resumed.iteration):
        raise StateError(
            f"{resumed.path}: field iteration is {resumed.iteration}, which is no checkpoint of this run of "
            f"{schedule.n} iterations (checkpoints every {config.checkpoint_iterations}; the last goes to the output)"
        )
    stage = int(arrays["stage"])
    if stage != schedule.stage_of(resumed.iteration):
        raise StateError(f"{resumed.path}: field stage is {stage}, but iteration {resumed.iteration} is in stage "
                         f"{schedule.stage_of(resumed.iteration)}")  # fmt: skip


def _load_resume(path: str, given: Mapping[str, str]) -> tuple[dict[str, np.ndarray], Resumed, dict[str, Any]]:
    """The state's arrays, what it resumes, and the saved flags to use (with paths found again)."""
    refused = [flag for dest, flag in given.items() if dest not in (*OWN, *MAY_OVERRIDE)]
    if refused:
        raise ConfigError(f"{refused[0]} cannot be given with --resume, which goes on with the saved run's settings")
    arrays, meta = load_state(path)
    saved = meta.get("cli")
    if not isinstance(saved, dict):
        raise StateError(f"{path}: saved by the Python API, not the command line: nothing to resume")
    try:
        values = dict(saved["values"])
        values.update(_saved_paths(path, saved, given))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"{path}: the field meta.cli is not what this version writes ({exc!r})") from None
    return arrays, Resumed(path, int(arrays["iteration"]), meta), values


def _saved_paths(state: str, saved: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, Any]:
    """The saved run's paths, each where it is now: as saved, or (the folder moved) relative to the state."""
    here = os.path.dirname(os.path.abspath(state))
    moved = os.path.realpath(here) != os.path.realpath(saved["states_dir"])
    out: dict[str, Any] = {}
    for dest, items in saved["paths"].items():
        if dest in given:
            continue
        found = [_where(dest, absolute, relative, here, moved) for absolute, relative in items]
        out[dest] = found if dest == "styles" else found[0]
    return out


def _where(dest: str, absolute: str, relative: str, here: str, moved: bool) -> str:
    """An input where it was if it is still there, else beside the moved state; an output of a moved run folder
    (inside it) beside the state, else where it was."""
    beside = os.path.normpath(os.path.join(here, relative))
    inside = not relative.startswith(os.pardir)
    if dest not in INPUT_FLAGS:
        return beside if moved and inside else absolute
    if os.path.exists(absolute) or not os.path.exists(beside):
        return absolute  # a missing input is reported by the checks, naming the flag to give again
    return beside
