"""One way in for every weight file: the reader is chosen by the file's first bytes, never by its name.

``read_network(path)`` gives the weights in one layout (vgg.net.weights) whichever reader read them;
``load_network(path)`` makes them a VGG19 on a backend, and warns (UnknownNetworkWarning) when the file is
no known release (vgg.net.releases). Files that are no weights this program reads, but that people hand
it for weights (a pickle, a MATLAB 7.3 file, a Caffe prototxt), are named in one line (``REFUSED``).
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from collections.abc import Callable

from ..digests import file_digests
from ..errors import NetworkFileError, UnknownNetworkWarning
from . import caffe, keras, matconvnet, releases
from .model import VGG19
from .weights import NetworkWeights

HEAD_BYTES = 4096  # enough for every signature below
# (name of the format, is it this format given the file's first bytes, the reader)
READERS: tuple[tuple[str, Callable[[bytes], bool], Callable[[str], NetworkWeights]], ...] = (
    ("MatConvNet's imagenet-vgg-verydeep-19.mat", matconvnet.is_mat, matconvnet.read_vgg19_mat),
    ("Keras's vgg19_weights_tf_dim_ordering_tf_kernels(_notop).h5", keras.is_hdf5, keras.read_vgg19_h5),
    ("Oxford's VGG_ILSVRC_19_layers.caffemodel", caffe.is_caffemodel, caffe.read_vgg19_caffemodel),
)
_PROTOTXT = re.compile(rb"\s*(#[^\n]*\n\s*)*(name|input|input_dim|input_shape|layers?)\s*[:{]")


def _is_pth_zip(head: bytes) -> bool:
    """A zip (torch.save since PyTorch 1.6) holding a data.pkl."""
    return head.startswith(b"PK\x03\x04") and b"data.pkl" in head


def _is_pickle(head: bytes) -> bool:
    """A pickle of protocol 2 to 5 (the PROTO opcode first), as torch.save wrote before 1.6."""
    return len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5


# (is it this, given the file's first bytes; what it is): refused before any reader runs. A pickle is never
# unpickled: loading one runs whatever code it names.
REFUSED: tuple[tuple[Callable[[bytes], bool], str], ...] = (
    (_is_pth_zip, "a PyTorch checkpoint (.pth: pickles in a zip), which is never unpickled"),
    (_is_pickle, "a Python pickle (an old PyTorch .pth?), which is never unpickled"),
    (lambda head: head.startswith(b"MATLAB 7.3 MAT-file"), "a MATLAB 7.3 .mat (HDF5), which scipy cannot read: "
     "MatConvNet's files are MATLAB 5 files (save it with -v7)"),
    (lambda head: _PROTOTXT.match(head) is not None, "a Caffe prototxt (the network in text, without its weights)"),
)  # fmt: skip


def expected() -> str:
    """The formats read, for messages."""
    return ", ".join(name for name, _, _ in READERS)


def _head(name: str) -> bytes:
    """The file's first bytes; NetworkFileError for what is no regular, readable file."""
    if name == "":
        raise NetworkFileError("the network path is empty")
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise NetworkFileError(f"{name}: no such file (expected {expected()})") from None
    except OSError as exc:
        raise NetworkFileError(f"{name}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise NetworkFileError(f"{name}: is a directory (expected {expected()})")
    if stat.S_ISFIFO(mode):
        raise NetworkFileError(f"{name}: is a pipe (FIFO), not a file; the network must be a regular file")
    if not stat.S_ISREG(mode):
        raise NetworkFileError(f"{name}: is not a regular file (a device or socket); expected {expected()}")
    try:
        with open(name, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError as exc:
        raise NetworkFileError(f"{name}: cannot be read ({exc.strerror})") from None


def read_network(path: str | os.PathLike) -> NetworkWeights:
    """The weights in the file, by the reader its first bytes name; NetworkFileError (one line) otherwise."""
    name = os.fspath(path)
    head = _head(name)
    if not head:
        raise NetworkFileError(f"{name}: is empty (0 bytes); expected {expected()}")
    for matches, what in REFUSED:
        if matches(head):
            raise NetworkFileError(f"{name}: {what}; this program reads {expected()}")
    for _, matches, read in READERS:
        if matches(head):
            return read(name)
    raise NetworkFileError(f"{name}: not a network file this program reads (expected {expected()})")


def warn_unknown(path: str | os.PathLike, source: str | None = None) -> releases.Release | None:
    """The release the file is; an UnknownNetworkWarning (one line) when it is none (of ``source``'s, if given)."""
    digests = file_digests(path)
    known_releases = releases.of_source(source)
    found = releases.identify(digests, known_releases)
    if found is None:
        known = ", ".join(f"{r.md5} ({r.label})" for r in known_releases)
        warnings.warn(
            f"{os.fspath(path)}: MD5 {digests['md5']} matches no known release ({known}); using it anyway",
            UnknownNetworkWarning,
            stacklevel=2,
        )
    return found


def load_network(
    path: str | os.PathLike, pooling: str = "max", backend: str = "numpy", check_release: bool = True
) -> VGG19:
    """The network in a weight file as a VGG19 on the given backend."""
    weights = read_network(path)
    if check_release:
        warn_unknown(path, weights.format)
    return VGG19(weights.params, weights.mean_pixel, pooling=pooling, backend=backend)
