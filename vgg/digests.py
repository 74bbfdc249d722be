"""The one place files are hashed: digests of a whole file in one pass, and a cheap fingerprint of a large one."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

BLOCK = 1 << 20
_EDGE = 1 << 20  # a fingerprint hashes the first and the last MiB


def file_digests(path: str | os.PathLike, algorithms: Sequence[str] = ("md5", "sha256")) -> dict[str, str]:
    """{algorithm: hex digest} of the whole file, read once."""
    hashers = {name: hashlib.new(name, usedforsecurity=False) for name in algorithms}
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            for h in hashers.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashers.items()}


def edge_fingerprint(path: str | os.PathLike) -> str:
    """The size and a SHA-256 of the first and last MiB: cheap on a 548 MB network file, and tells releases apart."""
    size = os.path.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(_EDGE))
        if size > _EDGE:
            f.seek(max(_EDGE, size - _EDGE))
            digest.update(f.read())
    return f"{size}:{digest.hexdigest()[:32]}"


def whole_fingerprint(path: str | os.PathLike) -> str:
    """The size and a SHA-256 of the whole file: any change to an input image is seen."""
    return f"{os.path.getsize(path)}:{file_digests(path, ('sha256',))['sha256'][:32]}"
