"""python -m vgg.download when it cannot work: one line with the URL, what happened and the manual steps."""

from __future__ import annotations

import os
import socket

import local_http
import pytest
from local_http import assert_one_line_error, fetch, url_of

from vgg import download
from vgg.download import resumable as http_resume

server = pytest.fixture(name="server")(local_http.running_server)
local_only = pytest.fixture(autouse=True, name="local_only")(local_http.isolate)


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
    monkeypatch.setattr(http_resume, "TIMEOUT", 0.3)
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


BAD_ARGUMENTS = [
    ["--url", "ftp://x/y.mat"],
    ["--url", "http:///y.mat"],
    ["--url", "http://127.0.0.1:99999/y.mat"],
    ["--url", "http://127.0.0.1:port/y.mat"],
    ["--sha256", "abc"],
    ["--bogus"],
]


@pytest.mark.parametrize("argv", BAD_ARGUMENTS)
def test_bad_arguments_are_one_line(capsys, argv):
    assert download.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("vgg.download: error: ") and argv[0] in err


def test_unusable_output_is_one_line(server, tmp_path, capsys):
    (tmp_path / "file").write_bytes(b"")
    code, err = fetch(capsys, url_of(server), tmp_path / "file" / "vgg.mat")
    assert code == 1 and server.behaviour.ranges == []
    assert_one_line_error(err, f"cannot create the directory {tmp_path / 'file'}")
