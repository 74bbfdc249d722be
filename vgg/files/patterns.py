"""Checkpoint file-name patterns: the file of iteration i, and which iteration a file is.

A pattern follows the later original: one ``{...}`` field in the file name is filled by ``str.format``
(``out_{:05}.jpg``), anything else by ``%`` (``out%s.jpg``, ``out_%05d.jpg``); the directory is taken as
it is (a working directory such as ``50%done`` is no pattern). A pattern is accepted only if it writes
the iteration as plain decimal digits that read back as the same number (so ``%x``, ``%+d``, ``%e`` or
``{:/>5}`` are refused): then every file a pattern can make is found again by ``iteration_of``, and
finding what exists never enumerates the iterations, it lists the one directory they go to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator

from ..errors import ConfigError

_FIELD = re.compile(r"\{[^{}]*\}")
_PERCENT = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?[a-zA-Z])")
_PROBES = (0, 1, 7, 10, 99, 100, 12345, 10**12)  # iterations a pattern must write and read back


def checkpoint_name(pattern: str, iteration: int) -> str:
    """The checkpoint file of a 0-based iteration."""
    directory, base = os.path.split(pattern)
    return os.path.join(directory, base.format(iteration) if _FIELD.search(base) else base % iteration)


def escape(base_pattern: str, text: str) -> str:
    """``text`` written so that, put in the file-name pattern ``base_pattern``, it stays literal text: braces
    doubled in a ``{}`` pattern, '%' doubled in a '%' one (ConfigError for braces there: a '{...}' in the file
    name makes a pattern a ``{}`` one)."""
    if _FIELD.search(base_pattern):
        return text.replace("{", "{{").replace("}", "}}")
    if "{" in text or "}" in text:
        raise ConfigError(f"{text!r} has braces, which a pattern with %d cannot hold: write the iteration as {{:05}}")
    return text.replace("%", "%%")


def check_pattern(pattern: str) -> None:
    """ConfigError (no flag named: the caller adds it) unless the pattern writes every iteration as its
    own file, in one directory, with the iteration in decimal digits that read back (module docstring)."""
    directory, base = os.path.split(pattern)
    literal = base.replace("{{", "").replace("}}", "")  # escaped braces are text, not fields
    fields = _FIELD.findall(literal) if _FIELD.search(base) else [f for f in _PERCENT.findall(base) if f != "%%"]
    if not fields and (_FIELD.search(directory) or _PERCENT.search(directory)):
        raise ConfigError(f"the iteration goes in the file name, not the directory: {pattern!r}")
    if len(fields) != 1:
        raise ConfigError(f"must contain one of %s, %d, %05d, {{}} or {{:05}} in the file name, got {pattern!r}")
    try:
        names = {i: checkpoint_name(pattern, i) for i in _PROBES}
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise ConfigError(f"{pattern!r} cannot be filled with an iteration number ({exc})") from None
    for i, name in names.items():
        if iteration_of(pattern, name) != i:
            raise ConfigError(
                f"{pattern!r} writes iteration {i} as {os.path.basename(name)!r}: the iteration must be written "
                "in plain decimal digits (%s, %d, %05d, {} or {:05})"
            )


def iteration_of(pattern: str, path: str) -> int | None:
    """The iteration whose file ``path`` is, or None."""
    name = checkpoint_name(pattern, 0)
    if os.path.dirname(os.path.abspath(path)) != os.path.dirname(os.path.abspath(name)):
        return None
    base = os.path.basename(path)
    prefix, suffix = _affixes(os.path.basename(pattern))
    if not (base.startswith(prefix) and base.endswith(suffix)) or len(base) <= len(prefix) + len(suffix):
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


def existing_files(pattern: str, wanted: Callable[[int], bool]) -> Iterator[str]:
    """Files already present that the pattern makes for an iteration ``wanted`` holds (one directory listing)."""
    directory = os.path.dirname(os.path.abspath(checkpoint_name(pattern, 0)))
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in sorted(entries):
        path = os.path.join(directory, entry)
        i = iteration_of(pattern, path)
        if i is not None and wanted(i):
            yield path
