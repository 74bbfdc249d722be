"""The real weight files this package knows: names, sizes, digests and where they are published.

A file whose digests match a release is that release; one that matches none still loads (with a
warning) if its reader finds VGG-19 in it. vgg.download fetches and checks releases by these digests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    """One published file. ``sha256`` is None where no SHA-256 was published (then the MD5 decides)."""

    source: str  # the --source name of python -m vgg.download
    filename: str
    label: str  # what the file is, in words
    md5: str
    sha256: str | None
    urls: tuple[str, ...]


MAT_FILENAME = "imagenet-vgg-verydeep-19.mat"
MAT_URL = "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat"

RELEASES: tuple[Release, ...] = (
    Release(
        "mat",
        MAT_FILENAME,
        f"the new release of {MAT_FILENAME}",
        "106118b7cf60435e6d8e04f6a6dc3657",
        "abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695",
        (MAT_URL,),
    ),
    Release("mat", MAT_FILENAME, f"the old release of {MAT_FILENAME}", "8ee3263992981a1d26e73b3ca028a123", None, ()),
)


def identify(digests: Mapping[str, str], releases: tuple[Release, ...] | None = None) -> Release | None:
    """The release whose MD5 (and SHA-256, where one is known) the file has, or None."""
    for release in RELEASES if releases is None else releases:
        if digests.get("md5") == release.md5 and release.sha256 in (None, digests.get("sha256")):
            return release
    return None
