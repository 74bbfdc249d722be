"""Resume state: a run's whole state beside each checkpoint image, as an .npz read without pickle.

A state file holds the arrays of ``Run.state()`` (the image, the optimiser's state_dict under
``optimizer/``, the best image and its loss, the best finite one, the iteration of the checkpoint,
the stage of a coarse-to-fine run, the settings as JSON, hence the seed) and ``meta``: JSON with the
state format, the package version, the network file's fingerprint and what the caller adds (the
CLI: its arguments). It is written atomically (vgg.files.atomic, replacing only with --overwrite),
so a crash leaves the previous state or the new one, never half of one.
Reading refuses, in one line, a file that is not a state, one of another format or version, and one
saved for another network file.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from minigrad import __version__  # a state is resumed by the version that wrote it

from ..digests import edge_fingerprint, whole_fingerprint
from ..errors import StateError
from . import atomic

FORMAT = 2  # 2: the command line's saved paths are absolute and relative to the states (0.2.0)
SUFFIX = ".state.npz"
REQUIRED = ("meta", "iteration", "stage", "image", "best_loss", "finite_loss", "settings")


def state_name(image_name: str) -> str:
    """The state file beside a checkpoint image: out10.jpg -> out10.state.npz."""
    return os.path.splitext(image_name)[0] + SUFFIX


def save_state(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], overwrite: bool = True
) -> None:
    """Write ``arrays`` and ``meta`` (JSON) to ``path`` atomically (vgg.files.atomic.write_atomic): without
    ``overwrite`` a file of that name is never replaced (OutputExistsError names the one kept)."""
    record = {"format": FORMAT, "version": __version__, **meta}
    atomic.write_atomic(
        os.fspath(path), lambda f: np.savez(f, meta=np.array(json.dumps(record, sort_keys=True)), **arrays), overwrite
    )


# What each field of a state must be: (kind, ndim); kinds: "int", "float" (a finite or infinite loss),
# "image" (finite floats), "text" (JSON). Optional: best, finite (absent before any image was kept).
FIELDS = {"iteration": ("int", 0), "stage": ("int", 0), "image": ("image", 4), "best_loss": ("float", 0),
          "finite_loss": ("float", 0), "settings": ("text", 0), "best": ("image", 4), "finite": ("image", 4),
          "meta": ("text", 0)}  # fmt: skip


def _headers(name: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array's shape and dtype from its .npy header, before anything is loaded: a header that claims
    more bytes than its member holds (hand-edited, or truncated) is refused, never allocated."""
    out = {}
    with zipfile.ZipFile(name) as archive:
        for info in archive.infolist():
            key = info.filename.removesuffix(".npy")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(version)
                shape, _, dtype = (read_header or np.lib.format.read_array_header_2_0)(member)
                header = member.tell()
            if dtype.hasobject:
                raise StateError(f"{name}: field {key} holds Python objects (pickled); a state holds arrays only")
            claimed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if claimed != info.file_size - header or info.compress_size * 1024 < info.file_size:
                held = info.file_size - header
                raise StateError(f"{name}: field {key} claims {shape} {dtype} ({claimed:,} bytes) but holds {held:,}")
            out[key] = (tuple(shape), dtype)
    return out


def _check_field(name: str, key: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    kind, ndim = FIELDS[key]
    kinds = {"int": ("iu", "an integer"), "float": ("fiu", "a number"), "text": ("U", "text"),
             "image": ("f", "a (1, H, W, 3) array of floats")}  # fmt: skip
    allowed, expected = kinds[kind]
    image_ok = kind != "image" or (len(shape) == 4 and shape[0] == 1 and shape[3] == 3 and min(shape) > 0)
    if dtype.kind not in allowed or len(shape) != ndim or not image_ok:
        raise StateError(f"{name}: field {key} is {shape} {dtype}, expected {expected}")


def load_state(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the meta of a state file; StateError (naming the file and the field) if it is not a state of
    this format and version, or a field is not what this version writes."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise StateError(f"{name}: no such state file")
    if not os.path.isfile(name) or not zipfile.is_zipfile(name):
        raise StateError(f"{name}: not a state file (not an .npz archive; corrupt or of another kind)")
    try:
        headers = _headers(name)
        missing = [key for key in REQUIRED if key not in headers]
        if missing:
            raise StateError(f"{name}: not a state file of this program (no field {', '.join(missing)})")
        for key, (shape, dtype) in headers.items():
            if key in FIELDS:
                _check_field(name, key, shape, dtype)
        with np.load(name, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except StateError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise StateError(f"{name}: not a state file, or a corrupt one ({type(exc).__name__}: {exc})") from None
    meta = _json(name, "meta", arrays.pop("meta"))
    if (meta.get("format"), meta.get("version")) != (FORMAT, __version__):
        raise StateError(
            f"{name}: a state of format {meta.get('format')} from version {meta.get('version')}; "
            f"this is version {__version__}, which resumes format {FORMAT} only"
        )
    _json(name, "settings", arrays["settings"])
    for key in ("image", "best", "finite"):
        if key in arrays and not np.isfinite(arrays[key]).all():
            raise StateError(f"{name}: field {key} holds NaN or infinity")
    return arrays, meta


def _json(name: str, key: str, value: np.ndarray) -> dict[str, Any]:
    try:
        out = json.loads(str(value))
    except ValueError:
        out = None
    if not isinstance(out, dict):
        raise StateError(f"{name}: field {key} is not a JSON object (edited or damaged)")
    return out


def check_network(name: str, meta: Mapping[str, Any], network_path: str | os.PathLike) -> None:
    """StateError unless the state was saved for this network file."""
    if meta.get("network") != edge_fingerprint(network_path):
        raise StateError(
            f"{name}: saved for another network file than {os.fspath(network_path)} "
            f"(fingerprint {meta.get('network')}, this file's {edge_fingerprint(network_path)})"
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
            out[flag] = [whole_fingerprint(v) for v in value]
        else:
            out[flag] = None if value is None else whole_fingerprint(value)
    return out
