"""Resume state: a run's whole state beside each checkpoint image, as an .npz read without pickle.

A state file holds the arrays of ``Run.state()`` (the image, the optimiser's state_dict under
``optimizer/``, the best image and its loss, the best finite one, the iteration of the checkpoint,
the stage of a coarse-to-fine run, the settings as JSON, hence the seed) and ``meta``: JSON with the
state format, the package version, the network file's fingerprint and what the caller adds (the
CLI: its arguments). It is written to a temporary file and put in place (vgg.outputs.place, replacing
only with --overwrite), so a crash leaves the previous state or the new one, never half of one.
Reading refuses, in one line, a file that is not a state, one of another format or version, and one
saved for another network file.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import outputs
from .driver import Checkpoint, Event
from .errors import StyleError
from .listeners import Listener

FORMAT = 1
VERSION = "0.1.0"  # of the package (setup.cfg): a state is resumed by the version that wrote it
SUFFIX = ".state.npz"
REQUIRED = ("meta", "iteration", "stage", "image", "best_loss", "finite_loss", "settings")
_EDGE = 1 << 20  # the fingerprint hashes the first and the last MiB


class StateError(StyleError, ValueError):
    """A state file that cannot be resumed (one-line message naming the file)."""


def state_name(image_name: str) -> str:
    """The state file beside a checkpoint image: out10.jpg -> out10.state.npz."""
    return os.path.splitext(image_name)[0] + SUFFIX


def fingerprint(path: str | os.PathLike) -> str:
    """The file's size and a SHA-256 of its first and last MiB: cheap on 548 MB, and tells releases apart."""
    size = os.path.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(_EDGE))
        if size > _EDGE:
            f.seek(max(_EDGE, size - _EDGE))
            digest.update(f.read())
    return f"{size}:{digest.hexdigest()[:32]}"


def save_state(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], overwrite: bool = True
) -> None:
    """Write ``arrays`` and ``meta`` (JSON) to ``path`` atomically (temporary file, fsync, vgg.outputs.place):
    without ``overwrite`` a file of that name is never replaced (OutputExistsError names the one kept)."""
    name = os.fspath(path)
    record = {"format": FORMAT, "version": VERSION, **meta}
    fd, tmp = outputs.temporary_beside(name)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(record, sort_keys=True)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        outputs.place(tmp, name, overwrite)
    except outputs.OutputExistsError:
        raise  # tmp holds the state and the message names it
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_state(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the meta of a state file; StateError if it is not one of this format and version."""
    name = os.fspath(path)
    if os.path.isfile(name) and not zipfile.is_zipfile(name):
        raise StateError(f"{name}: not a state file (not an .npz archive; corrupt or of another kind)")
    try:
        with np.load(name, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
    except FileNotFoundError:
        raise StateError(f"{name}: no such state file") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise StateError(f"{name}: not a state file, or a corrupt one ({type(exc).__name__}: {exc})") from None
    missing = [key for key in REQUIRED if key != "meta" and key not in arrays]
    if missing or not isinstance(meta, dict):
        raise StateError(f"{name}: not a state file of this program (no {', '.join(missing) or 'meta'})")
    if (meta.get("format"), meta.get("version")) != (FORMAT, VERSION):
        raise StateError(
            f"{name}: a state of format {meta.get('format')} from version {meta.get('version')}; "
            f"this is version {VERSION}, which resumes format {FORMAT} only"
        )
    return arrays, meta


def check_network(name: str, meta: Mapping[str, Any], network_path: str | os.PathLike) -> None:
    """StateError unless the state was saved for this network file."""
    if meta.get("network") != fingerprint(network_path):
        raise StateError(
            f"{name}: saved for another network file than {os.fspath(network_path)} "
            f"(fingerprint {meta.get('network')}, this file's {fingerprint(network_path)})"
        )


def check_inputs(name: str, meta: Mapping[str, Any], files: Mapping[str, Any]) -> None:
    """StateError unless each input file (``{flag: path or list of paths or None}``) is the one the state was
    saved with (``meta["inputs"]``, from input_fingerprints; a state without it is not checked)."""
    saved = meta.get("inputs")
    if not isinstance(saved, dict):
        return
    for flag, now in input_fingerprints(files).items():
        if flag in saved and saved[flag] != now:
            raise StateError(
                f"{name}: {flag} {files[flag] if not isinstance(files[flag], list) else ' '.join(files[flag])} "
                "is not the file the state was saved with (changed since); resume with the same files"
            )


def input_fingerprints(files: Mapping[str, Any]) -> dict[str, Any]:
    """{flag: fingerprint, a list of them, or None} of the input files named (fingerprint above)."""
    out: dict[str, Any] = {}
    for flag, value in files.items():
        if isinstance(value, (list, tuple)):
            out[flag] = [fingerprint(v) for v in value]
        else:
            out[flag] = None if value is None else fingerprint(value)
    return out


class StateWriter(Listener):
    """Saves ``run.state()`` beside each checkpoint image (``name_of(i)``, see state_name); with ``keep``
    > 0 only the newest ``keep`` of the states it wrote stay: an older one is deleted once a newer one is
    in place (0 keeps them all). Files it did not write (the state a run was resumed from) stay.

    A write that fails (OSError: disk full, directory gone) goes to ``on_error(name, exc)``, the first one
    only, and the run goes on; without ``on_error`` it is raised. A state whose name appeared meanwhile
    (without ``overwrite``) is kept under a temporary name and each one goes to ``on_error``.
    """

    def __init__(
        self,
        run: Any,
        name_of: Callable[[int], str],
        meta: Mapping[str, Any],
        on_error: Callable[[str, Exception], None] | None = None,
        overwrite: bool = True,
        keep: int = 0,
    ) -> None:
        self.run, self.name_of, self.meta, self.on_error = run, name_of, dict(meta), on_error
        self.overwrite, self.keep = overwrite, keep
        self.failed_once = False
        self.written: list[str] = []

    def on(self, event: Event) -> None:
        if not isinstance(event, Checkpoint):
            return
        name = state_name(self.name_of(event.i))
        try:
            save_state(name, self.run.state(), self.meta, self.overwrite)
            self._written(name)
        except outputs.OutputExistsError as exc:
            if self.on_error is None:
                raise
            self.on_error(name, exc)
        except OSError as exc:
            if self.on_error is None:
                raise
            if not self.failed_once:
                self.on_error(name, exc)
            self.failed_once = True

    def _written(self, name: str) -> None:
        """Record ``name``; delete what is beyond the newest ``keep`` (one that cannot be deleted stays)."""
        self.written = [n for n in self.written if n != name] + [name]
        while self.keep > 0 and len(self.written) > self.keep:
            try:
                os.unlink(self.written.pop(0))
            except OSError:
                pass
