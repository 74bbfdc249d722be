"""python -m vgg.download against a local HTTP server (tests/local_http.py): transfer, resume, check, placement."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys

import local_http
import pytest
from local_http import DATA, SHA, assert_one_line_error, fetch, url_of

from vgg import download
from vgg.download import resumable as http_resume
from vgg.download.progress import Progress
from vgg.net import discovery, releases

server = pytest.fixture(name="server")(local_http.running_server)
local_only = pytest.fixture(autouse=True, name="local_only")(local_http.isolate)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def test_stalled_transfer_times_out_and_is_resumed(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(http_resume, "TIMEOUT", 0.3)
    server.behaviour.cuts, server.behaviour.stall = 1, True
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0, err
    assert out.read_bytes() == DATA and server.behaviour.ranges == [None, "bytes=100000-"]
    assert "no answer within 0.3 s after 100000 bytes; resuming (attempt 2 of 4)" in err


def test_cut_transfer_is_resumed_by_the_next_run(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(http_resume, "ATTEMPTS", 1)
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
    assert "is no known release" in err and "8ee3263992981a1d26e73b3ca028a123 (the old release" in err
    md5 = hashlib.md5(DATA).hexdigest()
    label = "the new release of imagenet-vgg-verydeep-19.mat"
    release = releases.Release("mat", "imagenet-vgg-verydeep-19.mat", label, md5, "f" * 64, ())
    monkeypatch.setattr(releases, "RELEASES", (release,))  # right MD5, wrong SHA-256: refused
    assert fetch(capsys, url_of(server), out)[0] == 1 and not out.exists()
    monkeypatch.setattr(releases, "RELEASES", (releases.Release("mat", release.filename, label, md5, SHA, ()),))
    code, err = fetch(capsys, url_of(server), out)
    assert code == 0, err
    assert out.read_bytes() == DATA and f"the new release of imagenet-vgg-verydeep-19.mat (MD5 {md5})" in err


def test_ctrl_c_keeps_the_partial_for_resuming(server, tmp_path, capsys, monkeypatch):
    def interrupt(self, done):
        raise KeyboardInterrupt

    update = Progress.update
    monkeypatch.setattr(http_resume, "CHUNK", 10_000)
    monkeypatch.setattr(Progress, "update", interrupt)
    out = tmp_path / "vgg.mat"
    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 130 and not out.exists()
    kept = os.path.getsize(f"{out}.part")
    assert 0 < kept <= 10_000
    assert err == f"vgg.download: interrupted; {kept} bytes kept in {out}.part: run the same command again to resume\n"
    monkeypatch.setattr(Progress, "update", update)
    assert fetch(capsys, url_of(server), out, "--sha256", SHA)[0] == 0
    assert out.read_bytes() == DATA and server.behaviour.ranges == [None, f"bytes={kept}-"]


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
    assert discovery.find_network() == str(target)


def test_output_directory_gets_the_file_name(server, tmp_path, capsys):
    code, err = fetch(capsys, url_of(server), tmp_path, "--sha256", SHA)
    assert code == 0, err
    assert (tmp_path / "imagenet-vgg-verydeep-19.mat").read_bytes() == DATA
    assert f"pass --network {tmp_path / 'imagenet-vgg-verydeep-19.mat'}" in err


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
