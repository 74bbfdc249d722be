"""python -m vgg.download: fetch imagenet-vgg-verydeep-19.mat, resumably, and check it (standard library only).

The bytes go to PATH.part first. A later run continues that partial file with an HTTP Range request and
appends the answer only when it is a 206 whose Content-Range starts where the partial ends; a 200 (the
server ignores Range), a Content-Range that starts elsewhere, or a 416 for a partial longer than the file
start it over. A transfer cut in the middle is resumed ATTEMPTS - 1 times within one run. Only a complete
file whose digests match a known release (vgg.net.releases), or --sha256, is renamed to PATH; one that
matches none is deleted together with its partial, so no later run resumes from it.

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
from ..net.discovery import cache_dir, find_network
from .progress import Progress
from .resumable import NEW, CutError, NotTheFileError, PartFileError, describe, fetch

FILENAME = releases.MAT_FILENAME
COMMAND = "python -m vgg.download"
PROG = "vgg.download"


def default_target() -> str:
    return os.path.join(cache_dir(), FILENAME)


def manual_steps(url: str, target: str, sha256: str | None = None) -> str:
    path, check = shlex.quote(target), "sha256sum" if sha256 else "md5sum"
    expect = sha256 or " or ".join(r.md5 for r in releases.RELEASES if r.filename == FILENAME)
    return f"to fetch it by hand: curl -fL -o {path} {shlex.quote(url)} && {check} {path} (expect {expect})"


def verify(path: str, sha256: str | None = None) -> str:
    """What the file is ('the new release (...)'); DownloadError when it is no known release nor --sha256."""
    found = file_digests(path)
    md5, sha = found["md5"], found["sha256"]
    if sha256 is not None:
        if sha != sha256:
            raise DownloadError(f"its SHA-256 is {sha}, expected {sha256} (--sha256)")
        return f"SHA-256 {sha}, as asked"
    release = releases.identify(found)
    if release is not None:
        return f"{release.label} (MD5 {md5})"
    known = ", ".join(f"{r.md5} ({r.label})" for r in releases.RELEASES)
    raise DownloadError(f"its MD5 {md5} (SHA-256 {sha}) is no known release (MD5 {known})")


def download(url: str, target: str, sha256: str | None, overwrite: bool, progress: Progress) -> str:
    """URL verified at TARGET (through TARGET.part); what the file is. DownloadError (one line) otherwise."""
    if os.path.exists(target):
        try:
            return f"already there: {verify(target, sha256)}"
        except DownloadError as exc:
            if not overwrite:
                raise DownloadError(f"{target} exists and is not the expected file: {exc}; pass --overwrite") from None
            progress.note(f"will replace {target}: {exc}")
    part = target + ".part"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the directory {exc.filename} for {target}: {exc.strerror}") from None
    try:
        complete = fetch(url, part, progress)
    except CutError as exc:
        raise DownloadError(f"{url}: {exc}; {part} is kept: run the same command again to resume") from None
    except NotTheFileError as exc:
        kept = f"; {part} is kept" if os.path.exists(part) else ""
        raise DownloadError(f"{url}: {exc}; nothing written{kept}") from None
    except PartFileError as exc:
        raise DownloadError(str(exc)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError and HTTPError are OSErrors
        raise DownloadError(f"{url}: {describe(exc)}; {manual_steps(url, target, sha256)}") from None
    try:
        what = verify(complete, sha256)
    except DownloadError as exc:
        os.remove(complete)
        kept = f"; {part} is kept" if complete != part and os.path.exists(part) else ""
        raise DownloadError(f"{url}: the downloaded file is not the expected one: {exc}; deleted it{kept}") from None
    os.replace(complete, target)
    if complete != part and os.path.exists(part):
        os.remove(part)  # the partial of another body, now complete and checked
    return f"saved: {what}"


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
    p = _Parser(prog=f"python -m {PROG}", description=f"Download {FILENAME} (VGG-19), resumably, and check it.")
    p.add_argument("--url", type=_url, default=releases.MAT_URL, help="where from (default %(default)s)")
    p.add_argument(
        "--output",
        metavar="PATH",
        help=f"where to put it; a directory: {FILENAME} in it (default {default_target()}, where the CLI looks)",
    )
    p.add_argument("--sha256", type=_sha256, metavar="HEX", help="accept this file instead of the known releases")
    p.add_argument("--overwrite", action="store_true", help="replace an existing PATH that is not the expected file")
    return p


def _target(output: str | None) -> str:
    if output is None:
        return default_target()
    return os.path.join(output, FILENAME) if os.path.isdir(output) or output.endswith(os.sep) else output


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    target, progress = _target(args.output), Progress(sys.stderr, PROG)
    for path in (target, target + ".part", target + ".part" + NEW):
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            progress.note(f"error: {path} is not a regular file (a pipe or a device); give --output a file path")
            return 2
    try:
        what = download(args.url, target, args.sha256, args.overwrite, progress)
    except DownloadError as exc:
        progress.note(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        part = target + ".part"
        kept = os.path.getsize(part) if os.path.exists(part) else 0
        progress.note(
            f"interrupted; {kept} bytes kept in {part}: run the same command again to resume" if kept else "interrupted"
        )
        return 130
    except OSError as exc:  # reading an existing PATH, creating its directory, renaming
        progress.note(f"error: {exc.filename or target}: {exc.strerror or exc}")
        return 1
    found = find_network()
    where = "" if found and os.path.samefile(found, target) else f"; pass --network {shlex.quote(target)} to the CLI"
    progress.note(f"{target}: {what}{where}")
    return 0
