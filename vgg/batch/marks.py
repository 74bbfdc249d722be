"""Which items of a batch are finished: a mark beside the output of each item that is not.

An item's mark is a hidden file beside its output, ``.OUTPUT.batch`` (OUTPUT: the output's file name), in JSON.
An attempt at the item makes it when it starts (``claim``) and it is removed once the output is in place
(``release``). Outputs are put in place whole (vgg.files.atomic), so:

- an output with no mark beside it is finished; so is one whose mark says RUNNING (the output went in place and
  the process died before the mark was removed: nothing else writes the output while the mark says RUNNING);
- a RUNNING mark without its output: an attempt that died (its worker was killed, or the whole batch). The next
  attempt, in this batch or a later one, finds it and may replace the files that attempt wrote;
- a LEFT mark: the item ended unfinished (interrupted, its loss not finite, an error) and left the files it
  lists, each with its SHA-256 (the output may be among them: the best image so far). A later batch redoes the
  item and may replace them, unless one of them was changed since (then it is the user's file).

Before a LEFT mark's files are written it is written without them (``leave(..., files={})``), so a process that
dies between the two leaves a LEFT mark, never an output that looks finished.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..digests import file_digests
from ..files import atomic

RUNNING, LEFT = "running", "left"


@dataclass(frozen=True)
class Mark:
    """An item's mark: the batch that made it (a random token), RUNNING or LEFT, and the files a LEFT item left
    ({path: SHA-256}); ``reason``: why it was left."""

    token: str
    state: str
    files: dict[str, str] = field(default_factory=dict)
    reason: str = ""


def mark_path(output: str) -> str:
    directory, base = os.path.split(os.path.abspath(output))
    return os.path.join(directory, f".{base}.batch")


def read(output: str) -> Mark | None:
    """The mark beside ``output``, or None. One that cannot be read (cut short, hand-edited) is taken as the
    mark of an attempt that died: RUNNING, no files listed."""
    try:
        with open(mark_path(output), encoding="utf-8") as f:
            raw = json.load(f)
        state = raw["state"] if raw["state"] in (RUNNING, LEFT) else RUNNING
        files = {str(k): str(v) for k, v in dict(raw.get("files", {})).items()}
        return Mark(str(raw["token"]), state, files, str(raw.get("reason", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Mark("", RUNNING)


def _write(output: str, mark: Mark) -> None:
    text = json.dumps({"token": mark.token, "state": mark.state, "files": mark.files, "reason": mark.reason})
    atomic.write_atomic(mark_path(output), lambda f: f.write(text.encode()), overwrite=True)


def claim(output: str, token: str) -> Mark | None:
    """Mark the item RUNNING for an attempt of batch ``token`` that starts now; the mark that was there before
    (None: none), which says the files the item writes are an earlier attempt's, theirs to replace."""
    before = read(output)
    _write(output, Mark(token, RUNNING))
    return before


def leave(output: str, token: str, files: list[str], reason: str) -> None:
    """Mark the item LEFT unfinished, with the SHA-256 of each of ``files`` that exists."""
    digests = {os.path.abspath(p): file_digests(p, ("sha256",))["sha256"] for p in files if os.path.isfile(p)}
    _write(output, Mark(token, LEFT, digests, reason))


def release(output: str) -> None:
    """The item is finished: its mark goes."""
    try:
        os.unlink(mark_path(output))
    except FileNotFoundError:
        pass


def changed(mark: Mark) -> list[str]:
    """The files a LEFT mark lists that are no longer what the item left (a file that is gone is not changed)."""
    out = []
    for path, digest in mark.files.items():
        if os.path.isfile(path) and file_digests(path, ("sha256",))["sha256"] != digest:
            out.append(path)
    return out
