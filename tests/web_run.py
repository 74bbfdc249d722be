"""A command-line run with --web in a child process, for the page's tests (tests/test_web*.py).

``WebRun(argv)`` starts ``stylize_cli.py ARGV --web 127.0.0.1:0 --progress never``, reads the page's address
from stderr and keeps reading stderr in a thread (so that the run never waits on a full pipe); ``lines`` is
what it wrote so far, ``wait()`` its exit status.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URL = re.compile(r"page is at (http://\S+)")


class WebRun:
    def __init__(self, argv: Sequence[str], web: str = "127.0.0.1:0", ignore_sigint: bool = False):
        cmd = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), *argv, "--web", web, "--progress", "never"]
        if ignore_sigint:  # as a shell starts a background job: SIGINT ignored from the start
            cmd = ["sh", "-c", 'trap "" INT; exec "$0" "$@"', *cmd]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: list[str] = []
        self.url = ""
        for line in self.proc.stderr:
            self.lines.append(line)
            found = URL.search(line)
            if found:
                self.url = found.group(1)
                break
        if not self.url:
            self.proc.wait(timeout=60)
            raise AssertionError(f"no page address on stderr: {''.join(self.lines)}")
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).netloc

    @property
    def token(self) -> str:
        return urllib.parse.urlsplit(self.url).path.strip("/")

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """``method`` of ``path`` (after the token) on the page's server: (status, body)."""
        return request(self.host, method, f"/{self.token}/{path}", headers)

    def wait(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def stderr(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def request(host: str, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One HTTP request to ``host`` (name:port): (status, body). ``headers`` may replace Host."""
    name, _, port = host.rpartition(":")
    conn = http.client.HTTPConnection(name.strip("[]"), int(port), timeout=30)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}))
        for key, value in {"Content-Length": "0", **(headers or {})}.items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
