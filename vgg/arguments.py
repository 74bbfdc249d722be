"""Command-line values checked before anything is read: finite floats, seeds, checkpoint file names.

Checkpoint names follow the later original: a pattern with one ``{...}`` field is filled by
``str.format`` (``out_{:05}.jpg``), any other by ``%`` (``out%s.jpg``, ``out_%05d.jpg``). Checking
them never enumerates the checkpoints: what exists is found by listing the one directory they go
to and matching its names, so the cost does not grow with --iterations.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable, Iterator

from .errors import ConfigError

SEED_MAX = 2**32 - 1  # numpy's legacy seeding range, which every reproducible tool accepts
_FIELD = re.compile(r"\{[^{}]*\}")
_PERCENT = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?[a-zA-Z])")


def finite_float(text: str) -> float:
    """argparse type: a float that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def seed_value(text: str) -> int:
    """argparse type: an integer seed in 0..2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {SEED_MAX}, got {value}")
    return value


def harden(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Every float flag of ``parser`` refuses NaN and infinity, and --seed takes 0..2**32 - 1."""
    for action in parser._actions:  # the flags are declared elsewhere; their types are tightened here
        if action.type is float:
            action.type = finite_float
        if action.dest == "seed" and action.type is int:
            action.type = seed_value
    return parser


def checkpoint_name(pattern: str, iteration: int) -> str:
    """The checkpoint file of a 0-based iteration: the file name's ``{...}`` field by str.format, others
    by %; the directory is taken as it is (a working directory such as ``50%done`` is no pattern)."""
    directory, base = os.path.split(pattern)
    return os.path.join(directory, base.format(iteration) if _FIELD.search(base) else base % iteration)


def check_checkpoint_pattern(pattern: str) -> None:
    """ConfigError unless the pattern names a different file in one directory for every iteration."""
    expected = "one of %s, %d, %05d, {} or {:05} in the file name"
    directory, base = os.path.split(pattern)
    fields = _FIELD.findall(base) if _FIELD.search(base) else _PERCENT.findall(base)
    if not [f for f in fields if f != "%%"] and (_FIELD.search(directory) or _PERCENT.search(directory)):
        raise ConfigError(f"--checkpoint-output: the iteration goes in the file name, not the directory: {pattern!r}")
    try:
        names = [checkpoint_name(pattern, i) for i in (0, 1, 10**12)]
        ok = len([f for f in fields if f != "%%"]) == 1 and len(set(names)) == 3
    except (TypeError, ValueError, KeyError, IndexError):
        ok = False
    if not ok:
        raise ConfigError(f"--checkpoint-output must contain {expected}, got {pattern!r}")


def iteration_of(pattern: str, path: str) -> int | None:
    """The iteration whose checkpoint file ``path`` is, or None (the pattern is checked)."""
    name = checkpoint_name(pattern, 0)
    if os.path.dirname(os.path.abspath(path)) != os.path.dirname(os.path.abspath(name)):
        return None
    base = os.path.basename(path)
    prefix, suffix = _affixes(os.path.basename(pattern))
    if not (base.startswith(prefix) and base.endswith(suffix)):
        return None
    digits = base[len(prefix) : len(base) - len(suffix)]
    if not (digits.isascii() and digits.isdigit()):
        return None
    i = int(digits)
    return i if os.path.basename(checkpoint_name(pattern, i)) == base else None


def _affixes(base_pattern: str) -> tuple[str, str]:
    """The literal text around the iteration in a file-name pattern ('%%' and '{{' unescaped)."""
    marker = "\x00"
    if _FIELD.search(base_pattern):
        filled = _FIELD.sub(marker, base_pattern.replace("{{", "\x01").replace("}}", "\x02"), count=1)
        filled = filled.replace("\x01", "{").replace("\x02", "}")
    else:
        filled = _PERCENT.sub(lambda m: "%" if m.group() == "%%" else marker, base_pattern)
    prefix, _, suffix = filled.partition(marker)
    return prefix, suffix


def is_checkpoint_iteration(i: int, iterations: int, every: int) -> bool:
    """Every ``every``-th 0-based iteration from 0 is a checkpoint, except the last (that is --output)."""
    return 0 <= i < iterations - 1 and every > 0 and i % every == 0


def existing_checkpoints(pattern: str, is_checkpoint: Callable[[int], bool]) -> Iterator[str]:
    """Files already present that the run would write as checkpoints (one directory listing)."""
    directory = os.path.dirname(os.path.abspath(checkpoint_name(pattern, 0)))
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in sorted(entries):
        path = os.path.join(directory, entry)
        i = iteration_of(pattern, path)
        if i is not None and is_checkpoint(i):
            yield path
