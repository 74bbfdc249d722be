"""--web from the command line, without a browser: the page's "stop" is Ctrl-C, "save now" writes with the
checkpoints' rules, a page that never reads does not hold the run up, and bad values are one line."""

from __future__ import annotations

import os
import re
import socket
import time

import numpy as np
import pytest
from cli_inputs import cli_argv, run_cli, write_cli_inputs
from PIL import Image
from web_run import WebRun

from vgg.cli import results
from vgg.cli.results import Writer

SAVED = re.compile(r"saved the best image so far \(after iteration (\d+)\) as (\S+)$")
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and processes")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("web"), "new")


def wait_until(condition, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        time.sleep(0.05)


def started(run: WebRun, iteration: int = 3) -> None:
    wait_until(lambda: any(f"Iteration {iteration}/" in line for line in run.lines), f"iteration {iteration}")


def test_stop_on_the_page_ends_the_run_as_ctrl_c_does(files, tmp_path):
    out = tmp_path / "o.png"
    run = WebRun(cli_argv(files, out, 10**6))
    try:
        started(run)
        code, body = run.request("POST", "stop")
        assert code == 202 and b"stopping" in body
        assert run.wait() == 130, run.stderr()
    finally:
        run.kill()
    ours = [line for line in run.lines if line.startswith("stylize: ") and "warning" not in line]
    assert ours[1:] == [f"stylize: error: interrupted; saved the best image so far to {out}\n"], run.stderr()
    with Image.open(out) as img:
        assert img.size == (20, 16)
    assert sorted(os.listdir(tmp_path)) == ["o.png"]


def test_stop_works_where_sigint_is_ignored(files, tmp_path):
    """A background job of a script ignores SIGINT (so would interrupt_main): the listener raises instead."""
    out = tmp_path / "o.png"
    run = WebRun(cli_argv(files, out, 10**6), ignore_sigint=True)
    try:
        started(run)
        assert run.request("POST", "stop")[0] == 202
        assert run.wait() == 130, run.stderr()
    finally:
        run.kill()
    assert out.exists()


@pytest.mark.parametrize("pattern", [None, "c%03d.png"])
def test_save_now_writes_a_new_file_each_time_and_the_run_goes_on(files, tmp_path, pattern):
    out = tmp_path / "o.png"
    extra = ["--checkpoint-output", tmp_path / pattern, "--checkpoint-iterations", 10**6] if pattern else []
    run = WebRun(cli_argv(files, out, 10**6, *extra))
    try:
        started(run)
        for n in (1, 2):
            assert run.request("POST", "save")[0] == 202
            wait_until(lambda n=n: sum("stylize: web: saved" in line for line in run.lines) == n, f"save {n}")
        assert run.request("POST", "stop")[0] == 202
        assert run.wait() == 130, run.stderr()
    finally:
        run.kill()
    lines = [SAVED.search(line) for line in run.lines if "stylize: web: saved" in line]
    saved = [(int(m.group(1)), m.group(2)) for m in lines]
    if pattern is None:
        assert [name for _, name in saved] == [str(tmp_path / "o.saved-1.png"), str(tmp_path / "o.saved-2.png")]
    else:  # the checkpoint file of the last iteration done (after iteration k: the file of 0-based k - 1)
        first = str(tmp_path / (pattern % (saved[0][0] - 1)))
        assert saved[0][1] == first and saved[0][0] > 1
        assert saved[1][1] in (str(tmp_path / (pattern % (saved[1][0] - 1))), first[: -len(".png")] + ".saved-1.png")
    for _, name in saved:
        with Image.open(name) as img:
            assert img.size == (20, 16)


def test_a_page_that_never_reads_does_not_hold_the_run_up(files, tmp_path):
    out = tmp_path / "o.png"
    run = WebRun(cli_argv(files, out, 300, "--web-linger", 1))
    host, port = run.host.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=30) as stuck:
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.sendall(f"GET /{run.token}/events HTTP/1.0\r\nHost: {run.host}\r\n\r\n".encode())
            assert run.wait() == 0, run.stderr()
    finally:
        run.kill()
    assert any("Iteration 300/300" in line for line in run.lines)
    assert out.exists()


def test_the_page_says_how_the_run_ended(files, tmp_path):
    out = tmp_path / "o.png"
    run = WebRun(cli_argv(files, out, 10**6, "--web-linger", 30))
    try:
        started(run)
        host, port = run.host.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as page:
            page.sendall(f"GET /{run.token}/events HTTP/1.0\r\nHost: {run.host}\r\n\r\n".encode())
            assert run.request("POST", "stop")[0] == 202
            seen = b""
            while b"the run has ended" not in seen and b'"state":"ended"' not in seen:
                chunk = page.recv(65536)
                assert chunk, seen[-500:]
                seen += chunk
        assert b"stopped from the page; the best image so far is in" in seen
        assert run.wait() == 130  # the page closed its stream: the server does not wait out the 30 s
    finally:
        run.kill()


@pytest.mark.parametrize(
    "value, expected",
    [("x", "--web: expected a port from 0 to 65535"), ("70000", "expected a port from 0 to 65535"),
     ("::1:80", "write an IPv6 address in brackets")],
)  # fmt: skip
def test_a_bad_address_is_one_line(files, tmp_path, capsys, value, expected):
    code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.png", 1, "--web", value))
    assert code == 2 and expected in err and len(err.splitlines()) == 1, err


def test_an_address_in_use_is_one_line_before_anything_runs(files, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.png", 1, "--web", port))
    assert code == 2 and err == f"stylize: error: --web 127.0.0.1:{port}: cannot serve there (Address already in use)\n"
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    "extra, expected",
    [(["--web-linger", "5"], "--web-linger applies to --web only"),
     (["--web", "0", "--web-linger", "-1"], "expected 0 or more seconds")],
)  # fmt: skip
def test_linger_is_checked(files, tmp_path, capsys, extra, expected):
    code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.png", 1, *extra))
    assert code == 2 and expected in err, err


def test_snapshot_names_never_replace_a_file(tmp_path):
    image = np.full((4, 5, 3), 7.0)
    out = str(tmp_path / "o.png")
    writer = Writer(out, None, overwrite=True, reserved=[str(tmp_path / "o.saved-2.png")])
    (tmp_path / "o.saved-1.png").write_bytes(b"mine")
    assert writer.snapshot(3, image) == str(tmp_path / "o.saved-3.png")  # 1 is there, 2 is another output's
    assert (tmp_path / "o.saved-1.png").read_bytes() == b"mine"
    pattern = Writer(out, str(tmp_path / "c%d.jpg"), overwrite=True)
    assert pattern.snapshot(4, image) == str(tmp_path / "c4.jpg")
    assert pattern.snapshot(4, image) == str(tmp_path / "c4.saved-1.jpg")  # the checkpoint file is there
    assert Writer(out, str(tmp_path / "o%d.png"), overwrite=False).snapshot(5, image) == str(tmp_path / "o5.png")
    clash = Writer(str(tmp_path / "o5x.png"), str(tmp_path / "o%dx.png"), overwrite=False)
    assert clash.snapshot(5, image) == str(tmp_path / "o5x.saved-1.png")  # --output's name is never taken


def test_a_name_taken_meanwhile_is_not_replaced(tmp_path, monkeypatch):
    """The name is free when looked at and taken when the file is placed (another process): the next one."""
    monkeypatch.setattr(results.os.path, "lexists", lambda path: False)
    (tmp_path / "o.saved-1.png").write_bytes(b"theirs")
    writer = Writer(str(tmp_path / "o.png"), None, overwrite=True)
    assert writer.snapshot(0, np.full((4, 5, 3), 7.0)) == str(tmp_path / "o.saved-2.png")
    assert (tmp_path / "o.saved-1.png").read_bytes() == b"theirs"
    assert sorted(os.listdir(tmp_path)) == ["o.saved-1.png", "o.saved-2.png"]  # no temporary file left
