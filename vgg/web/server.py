"""The page's server: the standard library's threading HTTP server, a token in every address, server-sent events.

Every request must carry the page's random token as the first part of its path (``/TOKEN/...``; anything else
is 404) and a Host header naming this server (vgg.web.address; anything else is 403). What can be asked for:

| request | answer |
|---|---|
| ``GET /TOKEN/`` (and ``app.js``, ``style.css``) | the page, static files of this package |
| ``GET /TOKEN/events`` | the event stream: a ``snapshot``, then the board's messages (vgg.web.board) |
| ``GET /TOKEN/image/NAME.jpg?v=N`` | one of the run's own images (vgg.web.frames); ``X-Frame-Version`` says which |
| ``POST /TOKEN/save``, ``POST /TOKEN/stop`` | the page's two actions (a GET is 405); the answer is JSON |

Each connection has its own thread and a socket timeout; the number of event streams is bounded; an event
stream sends at most every ``STREAM_INTERVAL`` seconds, coalescing what came meanwhile, and a stream that
fell behind the board's ring is sent a snapshot instead (vgg.web.board). Nothing here is ever waited for by
the loop.
"""

from __future__ import annotations

import hmac
import json
import secrets
import select
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from .address import WILDCARDS, host_allowed, own_names, url_host
from .board import Board, Message
from .frames import Frames

STATIC = {
    "": ("index.html", "text/html"),
    "app.js": ("app.js", "text/javascript"),
    "style.css": ("style.css", "text/css"),
}
MAX_STREAMS = 16  # event streams open at once; more are refused (503)
STREAM_INTERVAL = 2.0  # seconds between two writes of one event stream (the page refreshes at most that often)
KEEPALIVE = 10.0  # seconds of silence after which a stream sends a comment
POLL = 1.0  # seconds between two looks at whether a stream's page closed it
SOCKET_TIMEOUT = 20.0  # a connection that takes no bytes for this long is dropped
COALESCED = ("progress", "frame")  # of these, only the newest message of a batch is sent
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


class PageServer(ThreadingHTTPServer):
    """The server of one board: bound at construction (OSError if it cannot be), serving once ``start()``ed."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, board: Board | None = None, frames: Frames | None = None) -> None:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        self.address_family = family
        super().__init__((host, port), Handler)
        self.board, self.frames, self.host = board or Board(), frames or Frames(), host
        self.port = self.server_address[1]
        self.token = secrets.token_urlsafe(24)
        self.names = own_names() if host in WILDCARDS else set()
        self.streams = 0
        self.streams_changed = threading.Condition()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def url(self) -> str:
        shown = socket.gethostname() if self.host in WILDCARDS else self.host
        return f"http://{url_host(shown)}:{self.port}/{self.token}/"

    def start(self) -> None:
        self.thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A page that went away mid-answer is no error of the run's; anything else is one line, no traceback."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            sys.stderr.write(f"stylize: warning: the page's server: {type(exc).__name__}: {exc}\n")

    def open_stream(self, delta: int) -> bool:
        """Count an event stream in (+1: False when too many are open) or out (-1)."""
        with self.streams_changed:
            if delta > 0 and self.streams >= MAX_STREAMS:
                return False
            self.streams += delta
            self.streams_changed.notify_all()
            return True

    def wait_streams_closed(self, seconds: float) -> None:
        """Until no event stream is open (each page closes its own once it shows the end), at most ``seconds``."""
        with self.streams_changed:
            self.streams_changed.wait_for(lambda: self.streams == 0, seconds)

    def close(self) -> None:
        """Stop serving: the streams end, the listening socket is closed."""
        self.board.close()
        if self.thread.is_alive():
            self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: PageServer
    timeout = SOCKET_TIMEOUT
    server_version = "stylize"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the terminal belongs to the run's lines

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def _route(self, method: str) -> None:
        if not host_allowed(self.headers.get("Host"), self.server.host, self.server.port, self.server.names):
            return self._send(403, b"forbidden: this server answers to its own address only\n", "text/plain")
        url = urllib.parse.urlsplit(self.path)
        token, _, rest = url.path.lstrip("/").partition("/")
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            return self._send(404, b"not found\n", "text/plain")
        if rest in ("save", "stop"):
            return self._action(method, rest)
        if method != "GET":
            return self._send(405, b"method not allowed\n", "text/plain", {"Allow": "GET"})
        if rest in STATIC:
            name, kind = STATIC[rest]
            return self._send(200, _static(name), kind + "; charset=utf-8")
        if rest == "events":
            return self._events()
        if rest.startswith("image/") and rest.endswith(".jpg"):
            return self._image(rest[len("image/") : -len(".jpg")], urllib.parse.parse_qs(url.query))
        return self._send(404, b"not found\n", "text/plain")

    def _send(self, code: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in {**SECURITY_HEADERS, "Content-Type": kind, **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _action(self, method: str, name: str) -> None:
        if method != "POST":
            return self._send(405, b"use POST\n", "text/plain", {"Allow": "POST"})
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host')}":
            return self._send(403, b"forbidden: another site's page\n", "text/plain")
        board = self.server.board
        message = board.request_save() if name == "save" else board.request_stop()
        self._send(202, json.dumps({"message": message}).encode(), "application/json")

    def _image(self, name: str, query: dict[str, list[str]]) -> None:
        version = query.get("v", ["0"])[0]
        found = self.server.frames.jpeg(name, int(version) if version.isdigit() else 0)
        if found is None:
            return self._send(404, b"no such image (yet)\n", "text/plain")
        data, shown = found
        self._send(200, data, "image/jpeg", {"X-Frame-Version": str(shown)})

    def _events(self) -> None:
        if not self.server.open_stream(+1):
            return self._send(503, b"too many pages open\n", "text/plain")
        try:
            self.send_response(200)
            for key, value in {**SECURITY_HEADERS, "Content-Type": "text/event-stream"}.items():
                self.send_header(key, value)
            self.end_headers()
            self._stream()
        except OSError:
            pass  # the page went away (or stopped reading for SOCKET_TIMEOUT)
        finally:
            self.server.open_stream(-1)

    def _stream(self) -> None:
        board, seq, last = self.server.board, -1, 0.0
        while not board.closed and not self._client_gone():
            seq, messages = (board.seq, None) if seq < 0 else board.wait(seq, POLL)
            if messages is None:
                snapshot = board.snapshot()
                seq = snapshot["seq"]
                messages = [(seq, "snapshot", snapshot)]
            elif not messages and time.monotonic() - last < KEEPALIVE:
                continue
            self._write(messages)
            last = time.monotonic()
            time.sleep(STREAM_INTERVAL)

    def _write(self, messages: list[Message]) -> None:
        newest = {kind: seq for seq, kind, _ in messages if kind in COALESCED}
        chunks = [
            f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
            for seq, kind, data in messages
            if kind not in newest or newest[kind] == seq
        ]
        self.wfile.write(("".join(chunks) or ": still here\n\n").encode())
        self.wfile.flush()

    def _client_gone(self) -> bool:
        """Whether the page closed its end (a readable socket with nothing to read: the page sends nothing)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
