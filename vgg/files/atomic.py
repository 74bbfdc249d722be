"""Putting a finished file in place: atomically, never over an existing one unless asked.

``write_atomic`` is the one writer of whole files (images, plots, resume states): the bytes go to a
temporary name in the file's directory, are flushed to disk, and are then placed: with ``overwrite``
by os.replace; without, by os.link(temporary, name), which fails if ``name`` exists (even if it appeared
a moment ago, from another run: no check-then-rename race), and the temporary name is unlinked. When
the placement finds the name taken, the temporary file is kept and OutputExistsError names it.

``open_stream`` opens a file written as the run goes (the run log, the loss file) without ever
blocking on a pipe and without truncating a file that appeared since the checks.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from typing import BinaryIO, TextIO

from ..errors import ImageError, OutputExistsError

# what temporary_beside names a file: mkstemp's 8 random characters between the prefix and the suffix
_TEMPORARY = re.compile(r"^\.(?P<stem>.*)\.[A-Za-z0-9_]{8}\.tmp(?P<ext>.*)$", re.S)
# errnos meaning "this filesystem has no hard links": fall back to an exclusive create and a copy
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def temporary_beside(name: str) -> tuple[int, str]:
    """(fd, path) of a new file in name's directory, hidden, with name's extension (so it opens as one)."""
    directory, base = os.path.split(os.path.abspath(name))
    stem, ext = os.path.splitext(base)
    return tempfile.mkstemp(dir=directory, prefix=f".{stem}.", suffix=f".tmp{ext}")


def temporary_target(path: str) -> str | None:
    """The file a temporary of ``temporary_beside`` was to become (None: ``path`` is no such temporary)."""
    directory, base = os.path.split(path)
    found = _TEMPORARY.match(base)
    return None if found is None else os.path.join(directory, found["stem"] + found["ext"])


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


def new_file_mode(name: str) -> int:
    """The replaced file's mode, or what the umask gives a new file."""
    if os.path.exists(name):
        return os.stat(name).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(name: str, write: Callable[[BinaryIO], None], overwrite: bool) -> None:
    """``write(f)`` into a temporary file beside ``name``, on disk, then placed (see the module docstring).

    An OSError of the write or the placement is raised with the temporary file removed; OutputExistsError
    (the name was taken meanwhile, without ``overwrite``) keeps it and names it.
    """
    fd, tmp = temporary_beside(name)
    try:
        os.fchmod(fd, new_file_mode(name))  # mkstemp makes 0600; an output is for others to read too
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        place(tmp, name, overwrite)
    except OutputExistsError:
        raise
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def stream_mode(overwrite: bool, append: bool = False) -> str:
    """open()'s mode for a file written as the run goes: "a" to add to it, "w" to replace it, else "x",
    so that a file that appeared since the checks is never truncated."""
    return "a" if append else "w" if overwrite else "x"


def open_stream(name: str, overwrite: bool, append: bool = False) -> TextIO:
    """A text file written as the run goes (stream_mode), opened without blocking: a pipe (FIFO) or any
    other file that is not a regular one is refused (OSError naming it), never waited on."""
    flags = {"a": os.O_APPEND | os.O_CREAT, "w": os.O_TRUNC | os.O_CREAT, "x": os.O_CREAT | os.O_EXCL}
    mode = stream_mode(overwrite, append)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_NONBLOCK | flags[mode], 0o666)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: a pipe with no reader, which a blocking open would wait for
            raise
        raise OSError(errno.EINVAL, "not a regular file (a pipe with no reader)", name) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a pipe or device)", name)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "a" if mode == "a" else "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def write_error(name: str, exc: OSError) -> ImageError:
    """A write failure as one line that names the file (ENOSPC's own message names none)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = f"[Errno {exc.errno}] " if exc.errno else ""
    return ImageError(f"{name}: cannot be written ({code}{reason})")


def check_writable(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Fail early (ImageError) if no file could be written at ``path``, or one exists there."""
    name = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(name))
    if os.path.isdir(name):
        raise ImageError(f"{name}: is a directory")
    if os.path.exists(name) and not stat.S_ISREG(os.stat(name).st_mode):
        raise ImageError(f"{name}: is not a regular file (a pipe or device); outputs must be regular files")
    if not os.path.isdir(directory):
        raise ImageError(f"{name}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ImageError(f"{name}: the directory {directory} is not writable")
    if os.path.exists(name) and not overwrite:
        raise ImageError(f"{name} already exists; pass --overwrite to replace it")


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
