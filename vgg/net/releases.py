"""The real weight files this package knows: names, sizes, digests and where they are published.

A file whose digests match a release is that release; one that matches none still loads (with a
warning) if its reader finds VGG-19 in it. vgg.download fetches and checks releases by these digests.
Where each number comes from is in docs/REFERENCE.md section 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    """One published file. ``sha256`` is None where no SHA-256 was published (then the MD5 decides); ``urls``
    are the hosts that serve it, best first (empty: none known today); ``size`` in bytes, None where unknown."""

    source: str  # the --source name of python -m vgg.download: 'mat', 'keras' or 'caffe'
    filename: str
    label: str  # what the file is, in words
    md5: str
    sha256: str | None
    urls: tuple[str, ...]
    size: int | None = None


MAT_FILENAME = "imagenet-vgg-verydeep-19.mat"
MAT_URL = "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat"
KERAS_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_TOP_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels.h5"
CAFFE_FILENAME = "VGG_ILSVRC_19_layers.caffemodel"
_KERAS_HOSTS = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/",  # Keras today
    "https://github.com/fchollet/deep-learning-models/releases/download/v0.1/",  # Keras 2.0 to 2.1
)

RELEASES: tuple[Release, ...] = (
    Release(
        "mat",
        MAT_FILENAME,
        f"the new release of {MAT_FILENAME}",
        "106118b7cf60435e6d8e04f6a6dc3657",
        "abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695",
        (MAT_URL,),
        534_904_783,
    ),
    Release("mat", MAT_FILENAME, f"the old release of {MAT_FILENAME}", "8ee3263992981a1d26e73b3ca028a123", None, ()),
    Release(
        "keras",
        KERAS_FILENAME,
        f"Keras's {KERAS_FILENAME}",
        "253f8cb515780f3b799900260a226db6",
        None,
        tuple(host + KERAS_FILENAME for host in _KERAS_HOSTS),
        80_134_624,
    ),
    Release(
        "keras",
        KERAS_TOP_FILENAME,
        f"Keras's {KERAS_TOP_FILENAME} (with the top)",
        "cbe5617147190e668d6c5d5026f83318",
        None,
        (),  # 7x the size of the file without the top, for the same conv weights: not downloaded
        574_710_816,
    ),
    Release(
        "caffe",
        CAFFE_FILENAME,
        f"Oxford's {CAFFE_FILENAME}",
        "b5c644beabd7cf06bdd9065cfd674c97",  # published by third parties only (docs/REFERENCE.md section 1)
        None,
        ("http://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe/" + CAFFE_FILENAME,),
        574_671_192,
    ),
)

# python -m vgg.download's order without --source: the smallest file first (80 MB against 535 and 575 MB),
# on the host Keras itself downloads from; then the .mat this program has always used; then Oxford's own.
SOURCES: tuple[str, ...] = ("keras", "mat", "caffe")
# The file names looked for when no --network is given, in this order in each place (vgg.net.discovery).
DEFAULT_NAMES: tuple[str, ...] = (MAT_FILENAME, KERAS_FILENAME, KERAS_TOP_FILENAME, CAFFE_FILENAME)


def of_source(source: str | None, releases: tuple[Release, ...] | None = None) -> tuple[Release, ...]:
    """The releases of one source (every release for None)."""
    every = RELEASES if releases is None else releases
    return tuple(r for r in every if source is None or r.source == source)


def downloadable(source: str) -> Release:
    """The release python -m vgg.download fetches for a source: its first one with a host."""
    return next(r for r in of_source(source) if r.urls)


def identify(digests: Mapping[str, str], releases: tuple[Release, ...] | None = None) -> Release | None:
    """The release whose MD5 (and SHA-256, where one is known) the file has, or None."""
    for release in RELEASES if releases is None else releases:
        if digests.get("md5") == release.md5 and release.sha256 in (None, digests.get("sha256")):
            return release
    return None
