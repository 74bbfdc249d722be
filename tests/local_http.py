"""A local HTTP server for the download tests: 127.0.0.1, port 0, a thread; what it does is a Behaviour.

It serves Behaviour.data with Range support (206 and Content-Range, 416 past the end), or ignores Range,
cuts responses after some bytes (closing the connection, or stalling with it open), lies about where a
206 starts, or answers every request with an error status. `ranges` records what each request asked.
Several files (the sources of python -m vgg.download) are several paths, each with its Behaviour
(``server.paths``; any other path gets ``server.behaviour``); a host that fails is a path whose Behaviour
has a `status`, or ``dead_url()``, where nothing listens. ``server.requests`` lists (path, Range) in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import re
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from vgg import download
from vgg.download import resumable as http_resume

DATA = np.random.default_rng(11).bytes(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


@dataclass
class Behaviour:
    """What the server does; `ranges` records each request's Range header (None: none sent)."""

    data: bytes = DATA
    ranges_supported: bool = True
    cut_after: int = 100_000  # bytes of body sent by a response that is cut
    cuts: int = 0  # this many responses are cut, then the rest are whole
    status: int | None = None  # answer every request with this error status
    content_range_start: int | None = None  # lie about where a 206 body starts
    stall: bool = False  # a cut response stops sending but keeps the connection open
    portal: bool = False  # answer every request with 200 and a text/html page (a captive portal)
    portal_for_ranges: bool = False  # only a request with a Range gets the page
    redirect_loop: bool = False  # answer every request with a 302 to itself
    ranges: list = field(default_factory=list)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        path = urllib.parse.urlsplit(self.path).path
        how: Behaviour = self.server.paths.get(path, self.server.behaviour)
        how.ranges.append(self.headers.get("Range"))
        self.server.requests.append((path, self.headers.get("Range")))
        if how.status is not None:
            self.send_error(how.status)
            return
        if how.redirect_loop:
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if how.portal or (how.portal_for_ranges and self.headers.get("Range")):
            page = b"<html><body>Please log in to the hotel Wi-Fi</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        start = self._range_start(how)
        if start is not None and start >= len(how.data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(how.data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = how.data[start or 0 :]
        self.send_response(200 if start is None else 206)
        self.send_header("Content-Type", "application/octet-stream")
        if start is not None:
            said = start if how.content_range_start is None else how.content_range_start
            self.send_header("Content-Range", f"bytes {said}-{len(how.data) - 1}/{len(how.data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if how.cuts > 0:
            how.cuts -= 1
            self.wfile.write(body[: how.cut_after])  # HTTP/1.0: the connection closes when the handler returns
            if how.stall:
                self.wfile.flush()
                self.server.released.wait(10)
            return
        self.wfile.write(body)

    def _range_start(self, how):
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        return int(match[1]) if match and how.ranges_supported else None

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.behaviour, httpd.released = Behaviour(), threading.Event()
    httpd.paths, httpd.requests = {}, []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def running_server() -> Iterator[http.server.ThreadingHTTPServer]:
    """The `server` fixture of the tests that use one."""
    with serving() as httpd:
        yield httpd


def isolate(monkeypatch, tmp_path) -> None:
    """No proxy between us and 127.0.0.1; the cache directory and Keras's in tmp_path; short timeouts."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(http_resume, "TIMEOUT", 2.0)


def url_of(server, scheme="http", path="/imagenet-vgg-verydeep-19.mat"):
    return f"{scheme}://127.0.0.1:{server.server_address[1]}{path}"


def serve(server, path: str, data: bytes) -> Behaviour:
    """Serve ``data`` at ``path`` too; its Behaviour, to change what that path does."""
    server.paths[path] = Behaviour(data=data)
    return server.paths[path]


def dead_url(path: str = "/file") -> str:
    """A URL on 127.0.0.1 where nothing listens (a host that is down: connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def fetch(capsys, url, out, *extra):
    code = download.main(["--url", url, "--output", str(out), *extra])
    return code, capsys.readouterr().err


def assert_one_line_error(err, *parts):
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vgg.download: error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in lines[0], (part, lines[0])
