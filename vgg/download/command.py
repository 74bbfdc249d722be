"""python -m vgg.download: fetch VGG-19's weights, resumably, and check them (standard library only).

Three files hold the same weights (vgg.net.releases): Keras's vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
(80 MB), MatConvNet's imagenet-vgg-verydeep-19.mat (535 MB) and Oxford's VGG_ILSVRC_19_layers.caffemodel
(575 MB). ``--source`` picks one; without it they are tried in that order (vgg.download.plan), each host in
turn, and the next is tried when a host fails (no answer, an HTTP error, a page instead of the file, a
transfer cut ATTEMPTS times, a file that is not the release).

The bytes go to a partial file first. A later run continues that partial file with an HTTP Range request
and appends the answer only when it is a 206 whose Content-Range starts where the partial ends; a 200 (the
server ignores Range), a Content-Range that starts elsewhere, or a 416 for a partial longer than the file
start it over. A transfer cut in the middle is resumed ATTEMPTS - 1 times within one run. Only a complete
file whose digests match a known release of its source (or --sha256) is renamed to PATH; one that matches
none is deleted together with its partial, so no later run resumes from it.

Without --output the file goes to the per-user cache directory (vgg.net.discovery.cache_dir), where the
CLI looks for the network when --network is not given.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shlex
import stat
import sys
import urllib.parse
from collections.abc import Sequence
from typing import NoReturn

from ..digests import file_digests
from ..errors import DownloadError
from ..net import releases
from ..net.discovery import find_network
from ..net.releases import Release
from .plan import Candidate, accepted_at, plan, target_for
from .progress import Progress
from .resumable import NEW, CutError, NotTheFileError, PartFileError, describe, fetch

FILENAME = releases.MAT_FILENAME
COMMAND = "python -m vgg.download"
PROG = "vgg.download"


class HostError(DownloadError):
    """This host did not give the file (unreachable, an error, a page, cut short, another file): try the next."""


class TransferInterruptedError(Exception):
    """Ctrl-C during a transfer into ``part``."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self.part = part


def default_target(filename: str = FILENAME) -> str:
    return target_for(None, filename)


def manual_steps(url: str, target: str, sha256: str | None = None, accepted: tuple[Release, ...] = ()) -> str:
    path, check = shlex.quote(target), "sha256sum" if sha256 else "md5sum"
    expect = sha256 or " or ".join(r.md5 for r in accepted or releases.of_source("mat"))
    return f"to fetch it by hand: curl -fL -o {path} {shlex.quote(url)} && {check} {path} (expect {expect})"


def verify(path: str, sha256: str | None = None, accepted: tuple[Release, ...] | None = None) -> str:
    """What the file is ('the new release (...)'); DownloadError when it is none of the ``accepted`` releases
    (default: every known one) nor --sha256."""
    found = file_digests(path)
    md5, sha = found["md5"], found["sha256"]
    if sha256 is not None:
        if sha != sha256:
            raise DownloadError(f"its SHA-256 is {sha}, expected {sha256} (--sha256)")
        return f"SHA-256 {sha}, as asked"
    accepted = releases.RELEASES if accepted is None else accepted
    release = releases.identify(found, accepted)
    if release is not None:
        return f"{release.label} (MD5 {md5})"
    known = ", ".join(f"{r.md5} ({r.label})" for r in accepted)
    raise DownloadError(f"its MD5 {md5} (SHA-256 {sha}) is no known release (MD5 {known})")


def already_there(
    candidates: list[Candidate], sha256: str | None, overwrite: bool, progress: Progress
) -> tuple[str, str] | None:
    """(what it is, the target) for a target that already holds an expected file: nothing is fetched then. A
    target that holds something else is refused without --overwrite (it is never replaced unasked)."""
    for target in dict.fromkeys(c.target for c in candidates):
        if not os.path.exists(target):
            continue
        try:
            return f"{target}: already there: {verify(target, sha256, accepted_at(candidates, target))}", target
        except DownloadError as exc:
            if not overwrite:
                raise DownloadError(f"{target} exists and is not the expected file: {exc}; pass --overwrite") from None
            progress.note(f"will replace {target}: {exc}")
    return None


def download(candidate: Candidate, sha256: str | None, progress: Progress) -> str:
    """The candidate's URL verified at its target (through its partial); what the file is. HostError when the
    host did not give the file, DownloadError (one line) for what no other host would change."""
    url, target, part = candidate.url, candidate.target, candidate.part
    try:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the directory {exc.filename} for {target}: {exc.strerror}") from None
    try:
        complete = fetch(url, part, progress)
    except CutError as exc:
        raise HostError(f"{url}: {exc}; {part} is kept: run the same command again to resume") from None
    except NotTheFileError as exc:
        kept = f"; {part} is kept" if os.path.exists(part) else ""
        raise HostError(f"{url}: {exc}; nothing written{kept}") from None
    except PartFileError as exc:
        raise DownloadError(str(exc)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError and HTTPError are OSErrors
        steps = manual_steps(url, target, sha256, candidate.accepted)
        raise HostError(f"{url}: {describe(exc)}; {steps}") from None
    try:
        what = verify(complete, sha256, candidate.accepted)
    except DownloadError as exc:
        os.remove(complete)
        kept = f"; {part} is kept" if complete != part and os.path.exists(part) else ""
        raise HostError(f"{url}: the downloaded file is not the expected one: {exc}; deleted it{kept}") from None
    os.replace(complete, target)
    if complete != part and os.path.exists(part):
        os.remove(part)  # the partial of another body, now complete and checked
    return f"{target}: saved: {what}"


def download_first(
    candidates: list[Candidate], sha256: str | None, overwrite: bool, progress: Progress, announce: bool = False
) -> tuple[str, str]:
    """(what was done, the file) for the first candidate whose host gives the file; DownloadError when none
    does (one line naming each URL and what happened) or on a local failure; TransferInterruptedError on Ctrl-C."""
    there = already_there(candidates, sha256, overwrite, progress)
    if there is not None:
        return there
    failures = []
    for i, candidate in enumerate(candidates):
        if announce:
            progress.note(f"fetching {os.path.basename(candidate.target)} from {candidate.url}")
        try:
            return download(candidate, sha256, progress), candidate.target
        except HostError as exc:
            failures.append(str(exc))
            if i + 1 < len(candidates):
                progress.note(f"{exc}; trying the next host")
        except KeyboardInterrupt:
            raise TransferInterruptedError(candidate.part) from None
    if len(failures) == 1:
        raise DownloadError(failures[0])
    raise DownloadError(f"no source gave the file ({'; '.join(failures)})")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def _url(text: str) -> str:
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise argparse.ArgumentTypeError(f"a URL has no spaces or control characters, got {text!r}")
    try:
        parts = urllib.parse.urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a port that is not a number, or out of range
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL with a host, got {text!r}")
    return text


def _sha256(text: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise argparse.ArgumentTypeError(f"expected 64 hexadecimal digits, got {text!r}")
    return text.lower()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"python -m {PROG}", description="Download VGG-19's weights, resumably, and check them.")
    order = ", ".join(releases.SOURCES)
    p.add_argument(
        "--source",
        choices=sorted(releases.SOURCES),
        help=f"which file: Keras's .h5 (80 MB), MatConvNet's .mat (535 MB) or Oxford's .caffemodel (575 MB); "
        f"default: {order}, the next when a host fails",
    )
    p.add_argument("--url", type=_url, help="where from, instead of the source's hosts")
    p.add_argument(
        "--output",
        metavar="PATH",
        help=f"where to put it; a directory: the file's own name in it (default {os.path.dirname(default_target())}, "
        "where the CLI looks)",
    )
    p.add_argument("--sha256", type=_sha256, metavar="HEX", help="accept this file instead of the known releases")
    p.add_argument("--overwrite", action="store_true", help="replace an existing PATH that is not the expected file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    candidates, progress = plan(args.source, args.url, args.output), Progress(sys.stderr, PROG)
    for path in dict.fromkeys(p for c in candidates for p in (c.target, c.part, c.part + NEW)):
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            progress.note(f"error: {path} is not a regular file (a pipe or a device); give --output a file path")
            return 2
    try:
        what, target = download_first(candidates, args.sha256, args.overwrite, progress, announce=args.url is None)
    except DownloadError as exc:
        progress.note(f"error: {exc}")
        return 1
    except TransferInterruptedError as exc:
        kept = os.path.getsize(exc.part) if os.path.exists(exc.part) else 0
        progress.note(
            f"interrupted; {kept} bytes kept in {exc.part}: run the same command again to resume"
            if kept
            else "interrupted"
        )
        return 130
    except OSError as exc:  # reading an existing PATH, renaming
        progress.note(f"error: {exc.filename or candidates[0].target}: {exc.strerror or exc}")
        return 1
    found = find_network()
    where = "" if found and os.path.samefile(found, target) else f"; pass --network {shlex.quote(target)} to the CLI"
    progress.note(f"{what}{where}")
    return 0
