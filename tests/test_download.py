"""python -m vgg.download against a local HTTP server (127.0.0.1, a thread in the test) serving random bytes."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field

import numpy as np
import pytest
from PIL import Image
from synthetic_vgg import sample_image, write_vgg19_mat

import stylize_cli
from vgg import download, matconvnet
from vgg.download_progress import Progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
    ranges: list = field(default_factory=list)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        how: Behaviour = self.server.behaviour
        how.ranges.append(self.headers.get("Range"))
        if how.status is not None:
            self.send_error(how.status)
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
        if start is not None:
            said = start if how.content_range_start is None else how.content_range_start
            self.send_header("Content-Range", f"bytes {said}-{len(how.data) - 1}/{len(how.data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if how.cuts > 0:
            how.cuts -= 1
            body = body[: how.cut_after]  # HTTP/1.0: the connection closes when the handler returns
        self.wfile.write(body)

    def _range_start(self, how):
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        return int(match[1]) if match and how.ranges_supported else None

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    httpd.behaviour = Behaviour()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def local_only(monkeypatch, tmp_path):
    """No proxy between us and 127.0.0.1; the cache directory in tmp_path; short timeouts."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "TIMEOUT", 2.0)


def url_of(server, scheme="http"):
    return f"{scheme}://127.0.0.1:{server.server_address[1]}/imagenet-vgg-verydeep-19.mat"


def fetch(capsys, url, out, *extra):
    code = download.main(["--url", url, "--output", str(out), *extra])
    return code, capsys.readouterr().err


def assert_one_line_error(err, *parts):
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vgg.download: error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_full_download(server, tmp_path, capsys):
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA and not os.path.exists(f"{out}.part")
    assert server.behaviour.ranges == [None]
    assert "(100%)" in err and f"SHA-256 {SHA}" in err  # the plain progress lines, not a terminal


def test_cut_transfer_is_resumed_in_the_same_run(server, tmp_path, capsys):
    server.behaviour.cuts = 1
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA
    assert server.behaviour.ranges == [None, "bytes=100000-"]
    assert "closed after 100000 of 300000 bytes; resuming" in err


def test_cut_transfer_is_resumed_by_the_next_run(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(download, "ATTEMPTS", 1)
    server.behaviour.cuts = 1
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 1 and not out.exists()
    assert os.path.getsize(f"{out}.part") == 100_000
    assert_one_line_error(err.splitlines()[-1], "run the same command again to resume", f"{out}.part is kept")
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA and not os.path.exists(f"{out}.part")
    assert server.behaviour.ranges == [None, "bytes=100000-"]


def test_server_without_range_starts_over(server, tmp_path, capsys):
    server.behaviour.ranges_supported = False
    out = tmp_path / "vgg.mat"
    (tmp_path / "vgg.mat.part").write_bytes(b"x" * 5000)  # garbage: appending to it would break the hash
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA
    assert server.behaviour.ranges == ["bytes=5000-"]
    assert "ignores resume requests (HTTP 200 to a Range); starting over" in err


def test_partial_longer_than_the_file_starts_over(server, tmp_path, capsys):
    out = tmp_path / "vgg.mat"
    (tmp_path / "vgg.mat.part").write_bytes(DATA + b"extra")
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA
    assert server.behaviour.ranges == [f"bytes={len(DATA) + 5}-", None]
    assert "more than the file's 300000 (HTTP 416); starting over" in err


def test_complete_partial_is_verified_not_fetched_again(server, tmp_path, capsys):
    out = tmp_path / "vgg.mat"
    (tmp_path / "vgg.mat.part").write_bytes(DATA)  # e.g. interrupted while the hash was computed
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA and server.behaviour.ranges == [f"bytes={len(DATA)}-"]


def test_content_range_elsewhere_starts_over(server, tmp_path, capsys):
    server.behaviour.content_range_start = 0  # a 206 that does not start where the partial ends
    out = tmp_path / "vgg.mat"
    (tmp_path / "vgg.mat.part").write_bytes(DATA[:1000])
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA and server.behaviour.ranges == ["bytes=1000-", None]
    assert "Content-Range 'bytes 0-299999/300000', expected bytes 1000-...; starting over" in err


def test_wrong_hash_leaves_nothing(server, tmp_path, capsys):
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out, "--sha256", "0" * 64)
    assert code == 1
    assert_one_line_error(err.splitlines()[-1], f"its SHA-256 is {SHA}, expected {'0' * 64}", "deleted")
    assert os.listdir(tmp_path) == []  # neither PATH nor a partial a later run would resume from


def test_known_releases_are_checked_without_sha256(server, tmp_path, capsys, monkeypatch):
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out)
    assert code == 1 and os.listdir(tmp_path) == []
    assert "is neither known release" in err and "8ee3263992981a1d26e73b3ca028a123 (old)" in err
    md5 = hashlib.md5(DATA).hexdigest()
    monkeypatch.setattr(matconvnet, "KNOWN_MD5", {"8ee3263992981a1d26e73b3ca028a123": "old", md5: "new"})
    monkeypatch.setattr(matconvnet, "KNOWN_SHA256", {"f" * 64: "new"})  # right MD5, wrong SHA-256: refused
    assert fetch(capsys, url_of(server), out)[0] == 1 and not out.exists()
    monkeypatch.setattr(matconvnet, "KNOWN_SHA256", {SHA: "new"})
    code, err = fetch(capsys, url_of(server), out)
    assert code == 0, err
    assert out.read_bytes() == DATA and f"the new release of imagenet-vgg-verydeep-19.mat (MD5 {md5})" in err


@pytest.mark.parametrize("status", [404, 500])
def test_http_error_is_one_line_with_manual_steps(server, tmp_path, capsys, status):
    server.behaviour.status = status
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out)
    assert code == 1 and os.listdir(tmp_path) == []
    assert_one_line_error(err, url_of(server), f"HTTP {status} ", f"curl -fL -o {out} {url_of(server)}", "md5sum")


def test_connection_refused_says_offline(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/vgg.mat"
    code, err = fetch(capsys, url, tmp_path / "vgg.mat")
    assert code == 1 and os.listdir(tmp_path) == []
    assert_one_line_error(err, url, "connection refused: offline", "curl", "md5sum")


def test_no_answer_times_out(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT", 0.3)
    with socket.socket() as s:  # accepts connections (the backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        url = f"http://127.0.0.1:{s.getsockname()[1]}/vgg.mat"
        code, err = fetch(capsys, url, tmp_path / "vgg.mat")
    assert code == 1
    assert_one_line_error(err, url, "no answer within 0.3 s", "curl")


def test_tls_failure_is_one_line(server, tmp_path, capsys):
    url = url_of(server, "https")  # TLS to a plain HTTP server: the handshake fails
    code, err = fetch(capsys, url, tmp_path / "vgg.mat")
    assert code == 1
    assert_one_line_error(err, url, "TLS failed", "curl")


def test_dns_failure_says_offline(tmp_path, capsys, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no real lookup leaves this machine
    url = "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat"
    code, err = fetch(capsys, url, tmp_path / "vgg.mat")
    assert code == 1
    assert_one_line_error(err, url, "cannot resolve the host name", "offline, or DNS", "curl")


def test_ctrl_c_keeps_the_partial_for_resuming(server, tmp_path, capsys, monkeypatch):
    def interrupt(self, done):
        raise KeyboardInterrupt

    update = Progress.update
    monkeypatch.setattr(download, "CHUNK", 10_000)
    monkeypatch.setattr(Progress, "update", interrupt)
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 130 and not out.exists()
    assert err == f"vgg.download: interrupted; 10000 bytes kept in {out}.part: run the same command again to resume\n"
    monkeypatch.setattr(Progress, "update", update)
    assert fetch(capsys, url_of(server), out, "--sha256", SHA)[0] == 0
    assert out.read_bytes() == DATA and server.behaviour.ranges == [None, "bytes=10000-"]


def test_existing_file_is_kept_or_refused(server, tmp_path, capsys):
    out = tmp_path / "vgg.mat"
    out.write_bytes(DATA)
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0 and "already there" in err and server.behaviour.ranges == []
    out.write_bytes(b"someone's own file")
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 1 and out.read_bytes() == b"someone's own file" and server.behaviour.ranges == []
    assert_one_line_error(err, f"{out} exists and is not the expected file", "pass --overwrite")
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA, "--overwrite")
    assert code == 0 and out.read_bytes() == DATA and f"will replace {out}" in err


def test_default_output_is_the_cache_directory(server, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = download.main(["--url", url_of(server), "--sha256", SHA])
    err = capsys.readouterr().err
    assert code == 0, err
    target = tmp_path / "cache" / "minigrad-style" / "imagenet-vgg-verydeep-19.mat"
    assert target.read_bytes() == DATA and "--network" not in err  # the CLI finds it there by itself
    assert download.find_network() == str(target)


def test_output_directory_gets_the_file_name(server, tmp_path, capsys):
    code, err = fetch(capsys, url_of(server), tmp_path, "--sha256", SHA)
    assert code == 0, err
    assert (tmp_path / "imagenet-vgg-verydeep-19.mat").read_bytes() == DATA
    assert f"pass --network {tmp_path / 'imagenet-vgg-verydeep-19.mat'}" in err


def test_cache_directory_follows_xdg(monkeypatch, tmp_path):
    assert download.cache_dir() == str(tmp_path / "cache" / "minigrad-style")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.cache_dir() == str(tmp_path / "home" / ".cache" / "minigrad-style")


def test_find_network_looks_in_the_working_directory_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "imagenet-vgg-verydeep-19.mat"
    assert download.find_network() is None and download.find_network("elsewhere/" + name) is None
    cached = tmp_path / "cache" / "minigrad-style" / name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    assert download.find_network() == str(cached) == download.find_network(name)
    (tmp_path / name).write_bytes(b"here")
    assert download.find_network() == name
    assert download.find_network(str(cached)) == str(cached)


@pytest.mark.parametrize("argv", [["--url", "ftp://x/y.mat"], ["--sha256", "abc"], ["--bogus"]])
def test_bad_arguments_are_one_line(capsys, argv):
    assert download.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("vgg.download: error: ") and argv[0] in err


def test_progress_on_a_terminal_is_one_redrawn_line():
    stream = io.StringIO()
    progress = Progress(stream, "vgg.download", tty=True)
    progress.begin(0, 1000)
    progress.end(1000)
    progress.note("done")
    assert stream.getvalue().startswith("\r[" + "#" * 30 + "] 0.0 MB of 0.0 MB (100%) at ")
    assert stream.getvalue().endswith("\033[K\nvgg.download: done\n")


def test_as_a_program(server, tmp_path):
    out = tmp_path / "vgg.mat"
    argv = [sys.executable, "-m", "vgg.download", "--url", url_of(server), "--output", str(out), "--sha256", SHA]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == DATA


@pytest.fixture
def cli_files(tmp_path):
    (tmp_path / "cache").mkdir()
    write_vgg19_mat(tmp_path / "vgg.mat", "old")
    Image.fromarray(sample_image(16, 20, seed=1).astype(np.uint8)).save(tmp_path / "content.png")
    Image.fromarray(sample_image(16, 16, seed=2).astype(np.uint8)).save(tmp_path / "style.png")
    return tmp_path


def cli_argv(files, *extra):
    paths = ["--content", str(files / "content.png"), "--styles", str(files / "style.png")]
    return [*paths, "--output", str(files / "out.png"), "--iterations", "1", *extra]


def test_cli_finds_the_network_in_the_cache(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "cache")  # a working directory without the network
    cached = tmp_path / "cache" / "minigrad-style" / "imagenet-vgg-verydeep-19.mat"
    cached.parent.mkdir(parents=True)
    os.replace(cli_files / "vgg.mat", cached)
    assert stylize_cli.main(cli_argv(cli_files)) == 0, capsys.readouterr().err
    assert (cli_files / "out.png").exists()


def test_cli_without_the_network_names_the_download_command(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "cache")  # a working directory without the network
    assert stylize_cli.main(cli_argv(cli_files)) == 2
    err = capsys.readouterr().err
    assert err == (
        "stylize: error: network imagenet-vgg-verydeep-19.mat does not exist in the working directory nor in "
        f"{tmp_path / 'cache' / 'minigrad-style'} (fetch it with: python -m vgg.download; or pass --network PATH)\n"
    )
    assert stylize_cli.main(cli_argv(cli_files, "--network", str(tmp_path / "no.mat"))) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"does not exist (fetch it with: python -m vgg.download --output {tmp_path / 'no.mat'})\n")
