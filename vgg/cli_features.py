"""The command line's flags beyond the original's: optimiser, coarse to fine, resume, run log, dry run.

stylize_cli.py calls these; each takes the parsed arguments (argparse.Namespace). Nothing here runs
the loop: it adds flags, fills in a resumed run's arguments, checks the files these flags write, builds
their listeners and writes the dry run's report.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import arguments, images, memory, preflight, safekeeping, scales, state
from .config import LINE_SEARCHES, OPTIMIZERS, StyleConfig
from .errors import ConfigError, ImageError
from .estimate import gemm_rate, seconds_per_iteration
from .listeners import Listener
from .runlog import RunLog
from .stylize import Run

REQUIRED = ("content", "styles", "output")
# With --resume: taken from the state unless given again
RESUME_MAY_OVERRIDE = ("output", "network")
# With --resume: this invocation's own, never taken from the state
RESUME_OWN = ("resume", "overwrite", "progress", "progress_write", "progress_plot", "log", "dry_run", "keep_states")
GIVEN = "given_flags"  # {dest: the flag as typed} of the flags on the command line, recorded as parsed
NOT_SAVED = ("resume", "dry_run", "resume_iteration", "resume_meta", "resume_arrays", GIVEN)
# Saved absolute, so that a run resumed from another directory reads and writes the same files
PATH_FLAGS = ("content", "styles", "output", "checkpoint_output", "network", "initial", "progress_write",
              "progress_plot", "log")  # fmt: skip
# The flags of one optimiser only: refused with the other
OPTIMIZER_FLAGS = {"adam": ("beta1", "beta2", "epsilon"), "lbfgs": ("lbfgs_history", "line_search")}


def add_flags(p: argparse.ArgumentParser) -> None:
    d = StyleConfig()
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help="(default %(default)s)")
    p.add_argument(
        "--lbfgs-history", type=int, default=d.lbfgs_history, help="L-BFGS: pairs kept (default %(default)s)"
    )
    p.add_argument(
        "--line-search", choices=LINE_SEARCHES, default=d.line_search, help="L-BFGS's line search (default none)"
    )
    p.add_argument(
        "--scales", type=int, nargs="+", metavar="WIDTH", help="coarse to fine: content widths, ascending (default off)"
    )
    p.add_argument(
        "--scale-iterations",
        type=int,
        nargs="+",
        metavar="N",
        help="with --scales: iterations at each scale (default --iterations at each)",
    )
    p.add_argument("--resume", metavar="STATE", help="continue the run saved in STATE (a .state.npz checkpoint)")
    p.add_argument(
        "--keep-states", type=int, default=1, metavar="N",
        help="with checkpoints: keep the newest N resume states, 0 all (default %(default)s)",
    )  # fmt: skip
    p.add_argument("--log", metavar="FILE", help="write the run as JSON lines to FILE (default off)")
    p.add_argument("--dry-run", action="store_true", help="check everything, print the estimates, compute nothing")
    for action in p._actions:  # every flag declared so far (add_flags comes last) records that it was given
        action.__class__ = _recording(type(action))


def _recording(cls: type[argparse.Action]) -> type[argparse.Action]:
    class Recorded(cls):  # type: ignore[valid-type, misc]
        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
            if not hasattr(namespace, GIVEN):
                setattr(namespace, GIVEN, {})
            getattr(namespace, GIVEN)[self.dest] = option_string or self.dest
            super().__call__(parser, namespace, values, option_string)

    Recorded.__name__ = cls.__name__
    return Recorded


def given(args: argparse.Namespace) -> dict[str, str]:
    """{dest: flag as typed} of the flags given on the command line (a default given again counts)."""
    return getattr(args, GIVEN, {})


def require_inputs(args: argparse.Namespace) -> None:
    missing = [f"--{name}" for name in REQUIRED if getattr(args, name) is None]
    if missing:
        raise ConfigError(f"the following arguments are required: {', '.join(missing)} (or --resume STATE)")
    if args.seed is None:
        args.seed = secrets.randbits(31)  # unseeded runs get a seed drawn here, so that the log and state name it


def apply_resume(args: argparse.Namespace, defaults: Mapping[str, Any]) -> None:
    """With --resume: ``args`` filled in from the arguments saved with the state, its arrays as ``resume_arrays``.

    Which flags were given comes from the parse itself (``given``); ``defaults`` is no longer needed.
    """
    if args.resume is None:
        return
    arrays, meta = state.load_state(args.resume)
    typed = given(args)
    refused = [flag for k, flag in typed.items() if k not in (*RESUME_OWN, *RESUME_MAY_OVERRIDE)]
    if refused:
        raise ConfigError(f"{refused[0]} cannot be given with --resume, which goes on with the saved run's settings")
    saved = meta.get("cli")
    if not isinstance(saved, dict):
        raise state.StateError(f"{args.resume}: saved by the Python API, not the command line: nothing to resume")
    for key, value in saved.items():
        if key not in RESUME_OWN and not (key in RESUME_MAY_OVERRIDE and key in typed):
            setattr(args, key, value)
    args.resume_iteration, args.resume_meta, args.resume_arrays = int(arrays["iteration"]), meta, arrays


def continues(args: argparse.Namespace, dest: str) -> bool:
    """Whether this resumed run was given the saved run's own --log / --progress-write file, which it then
    appends to (never truncated, no --overwrite needed)."""
    value, meta = getattr(args, dest, None), getattr(args, "resume_meta", None)
    if value is None or not isinstance(meta, dict) or not isinstance(meta.get("cli"), dict):
        return False
    saved = meta["cli"].get(dest)
    return saved is not None and os.path.abspath(value) == saved


def is_state_file(args: argparse.Namespace, config: StyleConfig, path: str) -> bool:
    """Whether the run writes ``path`` as the resume state beside a checkpoint."""
    return args.checkpoint_output is not None and preflight.is_checkpoint_file(
        args, config, path, state.state_name(args.checkpoint_output)
    )


def resumed_after(args: argparse.Namespace) -> int:
    """The iteration of the state a resumed run goes on from (-1 without --resume): it writes only later files."""
    return getattr(args, "resume_iteration", -1)


def check_files(args: argparse.Namespace, config: StyleConfig) -> None:
    """The files of these flags, checked as the other outputs are, before anything is read."""
    _check_optimizer_flags(args, config)
    if config.scales is not None and args.width is not None:
        raise ConfigError("--width and --scales both set the content's width: give one of them")
    if args.keep_states < 0:
        raise ConfigError(f"--keep-states must be 0 (all) or more, got {args.keep_states}")
    if args.log is not None:
        images.check_writable(args.log, args.overwrite or continues(args, "log"))
        others = [args.output, args.progress_write, args.progress_plot]
        if any(n is not None and os.path.abspath(n) == os.path.abspath(args.log) for n in others) or (
            preflight.is_checkpoint_file(args, config, args.log) or is_state_file(args, config, args.log)
        ):
            raise ConfigError(f"--log {args.log} would be written twice (it is also another output file)")
    for flag, name in (("--progress-write", args.progress_write), ("--progress-plot", args.progress_plot)):
        if name is not None and is_state_file(args, config, name):
            raise ConfigError(f"{flag} {name} is also a resume state file name (beside --checkpoint-output)")
    if args.checkpoint_output is not None and not args.overwrite:
        pattern = state.state_name(args.checkpoint_output)  # beside each checkpoint image
        later = lambda i: i > resumed_after(args) and preflight.is_checkpoint_iteration(config, i)  # noqa: E731
        existing = next(arguments.existing_checkpoints(pattern, later), None)
        if existing is not None:
            raise ConfigError(f"--checkpoint-output: {existing} already exists; pass --overwrite to replace it")


def _check_optimizer_flags(args: argparse.Namespace, config: StyleConfig) -> None:
    """ConfigError for a flag of the optimiser not used (it would be ignored without a word)."""
    typed = given(args)
    for optimizer, dests in OPTIMIZER_FLAGS.items():
        flag = next((typed[d] for d in dests if d in typed and config.optimizer != optimizer), None)
        if flag is not None:
            raise ConfigError(f"{flag} applies to --optimizer {optimizer} only, not --optimizer {config.optimizer}")


def check_scale_sides(config: StyleConfig, content: np.ndarray) -> None:
    """ImageError if the narrowest scale makes the content smaller than the network needs."""
    smallest, width = memory.smallest_side(), int(min(config.scales))
    height = max(1, int(content.shape[0] / content.shape[1] * width))
    if min(width, height) < smallest:
        raise ImageError(f"--scales {width}: the content would be {width}x{height}, smaller than {smallest}x{smallest}")


def check_resumed_files(args: argparse.Namespace) -> None:
    """With --resume: the network and the input images must be the files the state was saved with."""
    if args.resume is not None:
        state.check_network(args.resume, args.resume_meta, args.network)
        state.check_inputs(args.resume, args.resume_meta, input_files(args))


def input_files(args: argparse.Namespace) -> dict[str, Any]:
    return {"--content": args.content, "--styles": list(args.styles), "--initial": args.initial}


def listeners(args: argparse.Namespace, run: Run) -> list[Listener]:
    """The run log and the state beside each checkpoint, as the flags ask; a failing write is reported."""
    meta = {"network": state.fingerprint(args.network), "cli": saved_arguments(args)}
    meta["inputs"] = state.input_fingerprints(input_files(args))
    out: list[Listener] = []
    if args.log is not None:
        extra = {"network": meta["network"], "arguments": meta["cli"]}
        if args.resume is not None:
            extra["resumed"] = {"state": args.resume, "after_iteration": resumed_after(args)}
        log = RunLog(args.log, run.config, extra, overwrite=args.overwrite, append=continues(args, "log"))
        out.append(safekeeping.Guarded(log, "--log", args.log))
    if args.checkpoint_output is not None:
        pattern, keep = args.checkpoint_output, args.keep_states
        name = lambda i: arguments.checkpoint_name(pattern, i)  # noqa: E731
        out.append(state.StateWriter(run, name, meta, _state_not_written, overwrite=args.overwrite, keep=keep))
    return out


def _state_not_written(name: str, exc: OSError) -> None:
    safekeeping.say("warning", f"{name}: the resume state could not be written ({exc}); the run goes on")


def saved_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments to resume with: the paths absolute."""
    saved = {k: v for k, v in vars(args).items() if k not in NOT_SAVED}
    for key in PATH_FLAGS:
        value = saved.get(key)
        if isinstance(value, list):
            saved[key] = [os.path.abspath(v) for v in value]
        elif value is not None:
            saved[key] = os.path.abspath(value)
    return saved


def dry_run_report(run: Run) -> str:
    """Sizes, estimated peak memory and seconds per iteration of the run, in a few lines."""
    config, sizes = run.config, []
    for stage in range(len(run.bounds)):
        content, styles = scales.stage_images(config, stage, run.content, run.styles)
        sizes.append((content.shape[:2], [s.shape[:2] for s in styles]))
    peak = max(
        memory.estimate_peak_bytes(hw, style_hws, backend=config.backend, optimizer=config.optimizer,
                                   dtype=run.net.dtype, history_size=config.lbfgs_history, pooling=config.pooling)
        for hw, style_hws in sizes
    )  # fmt: skip
    available = memory.available_bytes(config.backend)
    rate = gemm_rate(config.backend)
    channels = [run.net.channels[f"conv{block}_1"] for block in range(1, 6)]
    per_stage = seconds_per_iteration([hw for hw, _ in sizes], config.optimizer, config.line_search, rate, channels)
    after = -1 if run.resume is None else int(run.resume["iteration"])
    left = [max(0, end - max(first, after + 1)) for first, end in run.bounds]  # a resumed run's remaining ones
    total = sum(s * n for s, n in zip(per_stage, left))
    where = "host" if config.backend == "numpy" else "GPU"
    lines = [f"dry run: nothing computed; {config.optimizer} on {config.backend}, {run.schedule.n} iterations"]
    if run.resume is not None:
        lines[0] += f", resumed after iteration {int(run.resume['iteration'])}"
    for (hw, _), seconds, n in zip(sizes, per_stage, left):
        lines.append(f"  {hw[1]}x{hw[0]}: {n} iterations, about {seconds:.3g} s each")
    free = "unknown" if available is None else memory.format_bytes(available)
    lines.append(f"  estimated peak {where} memory {memory.format_bytes(peak)} ({free} available)")
    lines.append(
        f"  estimated time about {total:.3g} s (FLOPs over a GEMM rate measured now: {rate / 1e9:.1f} GFLOP/s)"
    )
    return "\n".join(lines)
