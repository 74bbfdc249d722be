"""The progress status on a real terminal (a pseudo-terminal): visible while each step runs, gone at the end."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from cli_inputs import cli_argv, write_cli_inputs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pty = pytest.importorskip("pty", reason="needs POSIX pseudo-terminals")


def run_on_a_terminal(argv: list[str]) -> str:
    """Run the CLI with stderr on a pseudo-terminal; everything it wrote there, as the terminal got it."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode()
    return b"".join(chunks).decode()


def screen(text: str) -> list[str]:
    """What a terminal shows after ``text``: carriage return, newline and erase-to-end-of-line."""
    lines, col = [""], 0
    for token in re.findall(r"\x1b\[K|\r|\n|[^\r\n\x1b]+", text):
        if token == "\r":
            col = 0
        elif token == "\n":
            lines.append("")
            col = 0
        elif token == "\x1b[K":
            lines[-1] = lines[-1][:col]
        else:
            line = lines[-1]
            lines[-1] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    return lines


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    root = write_cli_inputs(tmp_path_factory.mktemp("tty"), "new", style_hw=(20, 20))
    argv = cli_argv(root, root / "out.png", 4, "--print-iterations", "2", "--seed", "0")
    return run_on_a_terminal(["stylize_cli.py", *argv])


def test_status_stays_on_screen_while_each_step_runs(output):
    draws = list(re.finditer(r"\r\[[#.]+\] (\d+)/4,", output))
    for k in (2, 3, 4):
        # the moment step k ends (its status is about to be drawn): what was on screen while it ran
        start = next(m.start() for m in draws if m.group(1) == str(k))
        bottom = screen(output[:start])[-1]
        assert re.match(rf"\[[#.]+\] {k - 1}/4, .* elapsed, .* remaining$", bottom), (k, bottom)


def test_scrollback_holds_the_originals_lines_and_the_status_is_erased_at_the_end(output):
    lines = [line for line in screen(output) if line]
    assert not any(line.startswith("[") for line in lines)  # no status left anywhere
    assert [line for line in lines if line.startswith("Iteration")] == [f"Iteration {i}/4" for i in range(1, 5)]
    assert sum("total loss:" in line for line in lines) == 3  # 0-based iterations 0 and 2, and the last
