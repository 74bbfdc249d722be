"""Losing the terminal never loses the run: stderr piped into `head`, on a full disk, closed, or hung up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from cli_inputs import cli_argv, write_cli_inputs
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = "import sys, stylize_cli; sys.exit(stylize_cli.main(sys.argv[1:]))"
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX pipes, /dev/full and signals")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("terminal"), "new")


def _argv(files, tmp_path, iterations=12):
    extra = ["--print-iterations", "1", "--checkpoint-output", tmp_path / "ck%s.png", "--checkpoint-iterations", "5"]
    return cli_argv(files, tmp_path / "o.png", iterations, *extra, "--seed", "0")


def _start(argv, **streams):
    return subprocess.Popen([sys.executable, "-c", RUN, *argv], cwd=ROOT, **streams)


def _finished_with_everything(tmp_path):
    with Image.open(tmp_path / "o.png") as img:
        assert img.size == (20, 16)
    assert {"ck0.png", "ck5.png", "ck10.png"} <= set(os.listdir(tmp_path))


def test_stderr_piped_into_head_that_quits_early(files, tmp_path):
    """`stylize_cli.py ... 2>&1 | head -2`: the reader goes away after two lines; the run goes on to its end."""
    proc = _start(_argv(files, tmp_path), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for _ in range(2):
        proc.stderr.readline()
    proc.stderr.close()  # as head exits
    assert proc.wait(timeout=120) == 0
    _finished_with_everything(tmp_path)


def test_stderr_on_a_full_disk(files, tmp_path):
    with open("/dev/full", "w") as full:  # every write fails with ENOSPC
        proc = _start(_argv(files, tmp_path), stderr=full)
        assert proc.wait(timeout=120) == 0
    _finished_with_everything(tmp_path)


# A library writing to fd 2 as the run goes (libpng, BLAS and CUDA warnings do): with stderr closed, that must
# reach nothing, never a file the run opened (the loss file here, opened once the run starts)
STRAY = """
    import os, sys, stylize_cli
    from vgg.report import history
    line = history._write_line
    def stray(f, text):
        os.write(2, b"STRAY\\n")
        line(f, text)
    history._write_line = stray
    sys.exit(stylize_cli.main(sys.argv[1:]))
"""


def test_stderr_closed(files, tmp_path):
    """`2>&-`: no file the run opens may take fd 2 (a stray write there would land in an output)."""
    code = __import__("textwrap").dedent(STRAY)
    argv = [*_argv(files, tmp_path), "--progress-write", str(tmp_path / "p.tsv")]
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=ROOT, preexec_fn=lambda: os.close(2))  # noqa: PLW1509
    assert proc.wait(timeout=120) == 0
    _finished_with_everything(tmp_path)
    assert "STRAY" not in (tmp_path / "p.tsv").read_text()


def test_a_hang_up_saves_like_sigterm(files, tmp_path):
    """A closed terminal or a dropped ssh session sends SIGHUP: the best image so far is saved, exit 129."""
    out = tmp_path / "o.png"
    proc = _start(cli_argv(files, out, 10**6, "--progress", "never"), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "Iteration 3/" in line:
            break
    proc.send_signal(signal.SIGHUP)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 129, rest
    assert f"saved the best image so far to {out}" in rest and "Traceback" not in rest
    with Image.open(out) as img:
        assert img.size == (20, 16)


def test_the_previous_sigterm_and_sighup_handlers_come_back_after_main(files, tmp_path, capsys):
    import stylize_cli

    def mine(signum, frame):
        pass

    before = {s: signal.signal(s, mine) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        assert stylize_cli.main(cli_argv(files, tmp_path / "o.png", 1)) == 0
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGHUP) is mine
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
