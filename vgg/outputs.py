"""Putting a finished file in place: atomically, never over an existing one unless asked, never over an input.

A file is written under a temporary name in its directory, then placed: with ``overwrite`` by
os.replace; without, by os.link(temporary, name), which fails if ``name`` exists (even if it
appeared a moment ago, from another run: no check-then-rename race), and then the temporary
name is unlinked. When the placement fails the temporary file is kept and the error names it.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable

from .errors import ConfigError, ImageError

# errnos meaning "this filesystem has no hard links": fall back to an exclusive create and a copy
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


class OutputExistsError(ImageError):
    """The output appeared while the run was going and --overwrite was not given; ``kept`` holds the result."""

    def __init__(self, name: str, kept: str) -> None:
        super().__init__(
            f"{name} appeared while the run was going; not replaced (no --overwrite): the result is in {kept}"
        )
        self.name, self.kept = name, kept


def stream_mode(overwrite: bool, append: bool = False) -> str:
    """open()'s mode for a file written as the run goes: "a" to add to it, "w" to replace it, else "x",
    so that a file that appeared since the checks is never truncated."""
    return "a" if append else "w" if overwrite else "x"


def temporary_beside(name: str) -> tuple[int, str]:
    """(fd, path) of a new file in name's directory, hidden, with name's extension (so it opens as one)."""
    directory, base = os.path.split(os.path.abspath(name))
    stem, ext = os.path.splitext(base)
    return tempfile.mkstemp(dir=directory, prefix=f".{stem}.", suffix=f".tmp{ext}")


def place(tmp: str, name: str, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``name``: replacing only with ``overwrite``; OutputExistsError keeps tmp."""
    if overwrite:
        os.replace(tmp, name)
        return
    try:
        os.link(tmp, name)
    except FileExistsError:
        raise OutputExistsError(name, tmp) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        _copy_exclusive(tmp, name)
    os.unlink(tmp)


def _copy_exclusive(tmp: str, name: str) -> None:
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, os.stat(tmp).st_mode & 0o777)
    except FileExistsError:
        raise OutputExistsError(name, tmp) from None
    try:
        with open(tmp, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
    except BaseException:  # disk full, Ctrl-C: the name we created holds part of a file; tmp keeps it all
        os.unlink(name)
        raise


def write_error(name: str, exc: OSError) -> ImageError:
    """A write failure as one line that names the file (ENOSPC's own message names none)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = f"[Errno {exc.errno}] " if exc.errno else ""
    return ImageError(f"{name}: cannot be written ({code}{reason})")


def fallback_names(name: str) -> Iterable[str]:
    """Where a result goes when ``name`` cannot be written: beside it, in the working directory, in /tmp."""
    stem, ext = os.path.splitext(os.path.basename(name))
    unsaved = f"{stem}.unsaved-{os.getpid()}{ext}"
    seen = set()
    for directory in (os.path.dirname(os.path.abspath(name)), os.getcwd(), tempfile.gettempdir()):
        candidate = os.path.join(directory, unsaved)
        if candidate not in seen:
            seen.add(candidate)
            yield candidate


def same_file(a: str, b: str) -> bool:
    """Whether two paths are one file: the same inode when both exist, else the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_not_inputs(outputs: Iterable[tuple[str, str]], inputs: Iterable[tuple[str, str]]) -> None:
    """ConfigError if an output (flag, path) is the same file as an input (flag, path)."""
    inputs = list(inputs)
    for out_flag, out_path in outputs:
        for in_flag, in_path in inputs:
            if same_file(out_path, in_path):
                raise ConfigError(
                    f"{out_flag} {out_path} is the same file as {in_flag} {in_path}; an input is never overwritten"
                )
