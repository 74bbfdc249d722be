"""A resumable HTTP(S) GET into a partial file, with the standard library's urllib.

fetch(url, part) makes PART the whole body of URL. When PART already holds bytes it asks for the rest
(Range: bytes=N-) and appends the answer only when it is a 206 whose Content-Range starts at N; a 200
(the server ignores Range) is written to PART.new from byte 0, PART kept until that body is complete (and
the caller has checked it); a Content-Range that starts elsewhere or a 416 for a PART longer than the file
start PART over (a 416 for a PART exactly the file's size means it is complete). A body that is a page
(text/html: a captive portal, a login) is refused before anything is written.
A body that stops short (closed, reset, or no bytes for TIMEOUT seconds) is asked for again from where
it stopped, ATTEMPTS requests in all, then CutError, with PART kept for a later run. Errors before any
body (DNS, TLS, refused, HTTP status) are urllib's; describe() puts any of them in words.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import urllib.error
import urllib.request
from typing import BinaryIO

from .progress import Progress

TIMEOUT = 30.0  # seconds to wait for an answer, or for the next bytes, before giving up on a request
ATTEMPTS = 4  # requests per fetch(): a transfer cut in the middle is resumed up to ATTEMPTS - 1 times
CHUNK = 1 << 16
USER_AGENT = "minigrad-style-download"
NEW = ".new"  # a body sent again from byte 0 goes to PART.new, so PART stays until it is complete


class CutError(Exception):
    """The body stopped short ATTEMPTS times (connection closed, reset or stalled); PART is kept."""


class PartFileError(Exception):
    """PART cannot be written (one-line message naming it)."""


class NotTheFileError(PartFileError):
    """The body is not the file (a web page); nothing was written."""


class _RestartError(Exception):
    """PART cannot be continued (the message says why): start over from byte 0."""


def describe(exc: BaseException) -> str:
    """What went wrong with a request, in words: HTTP status, DNS, TLS, refused, timeout."""
    if isinstance(exc, urllib.error.HTTPError):
        if 300 <= exc.code < 400:
            return f"HTTP {exc.code}: a redirect that cannot be followed (a loop, too many, or no Location)"
        return f"HTTP {exc.code} {str(exc.reason).splitlines()[0] if exc.reason else ''}".rstrip()
    if isinstance(exc, urllib.error.URLError):
        if not isinstance(exc.reason, BaseException):
            return str(exc.reason)
        exc = exc.reason
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror}): offline, or DNS is failing"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: offline, or the server is down"
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return (str(exc) or type(exc).__name__).splitlines()[0]


def _request(url: str, start: int) -> http.client.HTTPResponse:
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={start}-"} if start else {})}
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT)


def _body_range(response: http.client.HTTPResponse, have: int) -> tuple[int, int | None]:
    """Where the body starts in the file, and the file's size (None: not said)."""
    if response.status != 206:
        length = response.headers.get("Content-Length", "")
        return 0, int(length) if length.isdigit() else None
    content_range = response.headers.get("Content-Range", "")
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range.strip())
    if not match or int(match[1]) != have:
        raise _RestartError(f"the server resumed with Content-Range {content_range!r}, expected bytes {have}-...")
    return have, None if match[3] == "*" else int(match[3])


def _past_the_end(exc: urllib.error.HTTPError, have: int) -> None:
    """A 416 to a resume: the partial is complete when it has the file's size; otherwise start over."""
    match = re.fullmatch(r"bytes \*/(\d+)", (exc.headers.get("Content-Range") or "").strip())
    exc.close()
    if not match or int(match[1]) != have:
        size = f"the file's {match[1]}" if match else "the file's size"
        raise _RestartError(f"the partial file has {have} bytes, more than {size} (HTTP 416)")


def _check_type(response: http.client.HTTPResponse) -> None:
    """NotTheFileError for a body that is a page, not a binary file: a captive portal, a login or an error page."""
    kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if kind.startswith("text/") or kind in ("application/xhtml+xml", "application/json"):
        raise NotTheFileError(
            f"the server answered with a {kind} page instead of the file (a captive portal or a login?)"
        )


def _attempt(url: str, part: str, progress: Progress) -> str:
    """One request: continue PART from its size, or write the whole body from byte 0 (to PART.new when PART holds
    bytes, which stay until the new body is complete); the file the body is in. CutError when it stops short."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    try:
        response = _request(url, have)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not have:
            raise
        _past_the_end(exc, have)
        return part
    with response:
        _check_type(response)
        offset, total = _body_range(response, have)
        if have and not offset:
            progress.note(f"the server ignores resume requests (HTTP {response.status} to a Range); starting over")
        target = part if offset or not have else part + NEW
        try:
            out = open(target, "r+b" if offset else "wb")
        except OSError as exc:
            raise PartFileError(f"cannot write {target}: {exc.strerror}") from None
        with out:
            out.truncate(offset)
            out.seek(offset)
            _copy(response, out, offset, total, progress)
    return target


def _copy(response: http.client.HTTPResponse, out: BinaryIO, done: int, total: int | None, progress: Progress) -> None:
    progress.begin(done, total)
    while total is None or done < total:
        try:
            block = response.read1(CHUNK if total is None else min(CHUNK, total - done))
        except (OSError, http.client.HTTPException) as exc:
            progress.end(done)
            raise CutError(f"{describe(exc)} after {done} bytes") from None
        if not block:
            break
        _write(out, block)
        done += len(block)
        progress.update(done)
    progress.end(done)
    if total is not None and done < total:
        raise CutError(f"the connection closed after {done} of {total} bytes")
    _write(out, b"", sync=True)  # on disk before a rename makes it the real file


def _write(out: BinaryIO, block: bytes, sync: bool = False) -> None:
    try:
        out.write(block)
        if sync:
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise PartFileError(f"cannot write {out.name}: {exc.strerror}") from None


def fetch(url: str, part: str, progress: Progress) -> str:
    """The whole body of URL in PART (continued from its size where the server allows it, resumed when cut) or,
    when the server sent it again from byte 0, in PART.new (PART untouched): the path it is in."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _attempt(url, part, progress)
        except _RestartError as exc:
            progress.note(f"{exc}; starting over")
            os.remove(part)
        except CutError as exc:
            if attempt == ATTEMPTS:
                raise
            progress.note(f"{exc}; resuming (attempt {attempt + 1} of {ATTEMPTS})")
    raise CutError(f"no complete transfer in {ATTEMPTS} attempts")
