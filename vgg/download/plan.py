"""What python -m vgg.download tries, in order: each a URL, where its file goes, and what that file may be.

Without --source every source of vgg.net.releases is tried, in releases.SOURCES order (the smallest file
first), each of its hosts in turn; --source keeps one source's hosts; --url is the one URL tried, its
file accepted when it is any release of --source (of any source without it), or the --sha256 given.
The file goes to --output (a file, or a directory that gets the release's file name) or to the cache
directory, under its release's name, where the CLI looks for it. Each transfer has a partial file of its
own: PATH.part, or PATH.SOURCE.part when several sources would go to the same PATH (so that no source's
bytes are ever appended to another's).
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from ..net import releases
from ..net.discovery import cache_dir
from ..net.releases import Release


@dataclass(frozen=True)
class Candidate:
    """One URL to try: where its file goes (``target``, through ``part``) and the releases it may be."""

    url: str
    target: str
    part: str
    accepted: tuple[Release, ...]
    source: str | None  # None: a --url without --source


def target_for(output: str | None, filename: str) -> str:
    """Where a file named ``filename`` goes for an --output value (None: the cache directory)."""
    if output is None:
        return os.path.join(cache_dir(), filename)
    return os.path.join(output, filename) if os.path.isdir(output) or output.endswith(os.sep) else output


def _url_filename(url: str) -> str:
    """The file name for a --url: its last path part when it is a known release's name, else the .mat's."""
    name = os.path.basename(urllib.parse.urlsplit(url).path)
    return name if any(r.filename == name for r in releases.RELEASES) else releases.MAT_FILENAME


def plan(source: str | None, url: str | None, output: str | None) -> list[Candidate]:
    """The URLs to try, in order."""
    if url is not None:
        filename = releases.downloadable(source).filename if source else _url_filename(url)
        target = target_for(output, filename)
        return [Candidate(url, target, target + ".part", releases.of_source(source), source)]
    tried = [(s, releases.downloadable(s)) for s in ([source] if source else releases.SOURCES)]
    pairs = [(s, release, target_for(output, release.filename)) for s, release in tried]
    shared = {t for _, _, t in pairs if sum(t == other for _, _, other in pairs) > 1}
    return [
        Candidate(u, t, f"{t}.{s}.part" if t in shared else f"{t}.part", releases.of_source(s), s)
        for s, release, t in pairs
        for u in release.urls
    ]


def accepted_at(candidates: list[Candidate], target: str) -> tuple[Release, ...]:
    """Every release a file at ``target`` may be (several sources may go to one --output file)."""
    return tuple(dict.fromkeys(r for c in candidates if c.target == target for r in c.accepted))
