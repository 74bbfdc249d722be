"""Ctrl-C and SIGTERM keep the work: real signals to a real process, the best image saved to --output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cli_inputs import cli_argv, write_cli_inputs
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("signals"), "new")


def argv_for(files, out, *extra):
    return cli_argv(files, out, 10**6, *extra)


def start(code: str, argv: list[str]) -> subprocess.Popen:
    """python -c code, with sys.argv[1:] = argv, stderr piped line by line."""
    cmd = [sys.executable, "-c", textwrap.dedent(code), *argv]
    return subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, bufsize=1)


RUN = "import sys, stylize_cli; sys.exit(stylize_cli.main(sys.argv[1:]))"
# the result is saved slowly, so that a second signal can come while it is being saved
SLOW_SAVE = """
    import sys, time, stylize_cli
    from vgg.files import images
    save = images.save_image
    def slow(path, image, overwrite=True):
        if str(path).endswith("o.png"):
            print("saving", file=sys.stderr, flush=True)
            time.sleep(60)
        save(path, image, overwrite)
    images.save_image = slow
    sys.exit(stylize_cli.main(sys.argv[1:]))
"""


def wait_for(proc: subprocess.Popen, text: str) -> list[str]:
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never came: {''.join(lines)}")


@pytest.mark.parametrize(
    "signum, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_saves_the_best_image_so_far_and_exits_128_plus_its_number(files, tmp_path, signum, code, word):
    out = tmp_path / "o.png"
    proc = start(RUN, argv_for(files, out, "--progress", "never"))
    wait_for(proc, "Iteration 4/")
    proc.send_signal(signum)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == code, rest
    ours = [line for line in rest.splitlines() if line.startswith("stylize: ")]
    assert ours == [f"stylize: error: {word}; saved the best image so far to {out}"], rest
    with Image.open(out) as img:
        assert img.size == (20, 16)
    assert sorted(os.listdir(tmp_path)) == ["o.png"] and "Traceback" not in rest


def test_a_second_ctrl_c_while_saving_exits_at_once(files, tmp_path):
    out = tmp_path / "o.png"
    proc = start(SLOW_SAVE, argv_for(files, out, "--progress", "never"))
    wait_for(proc, "Iteration 3/")
    proc.send_signal(signal.SIGINT)
    wait_for(proc, "saving")
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=30) == 130, rest  # not the 60 s the save would have taken
    assert "interrupted again; exiting at once, nothing saved" in rest and "Traceback" not in rest
    assert os.listdir(tmp_path) == []


def test_an_interrupted_run_does_not_replace_a_file_that_appeared(files, tmp_path):
    out = tmp_path / "o.png"
    proc = start(RUN, argv_for(files, out, "--progress", "never"))
    wait_for(proc, "Iteration 3/")
    Image.new("RGB", (4, 4), (9, 9, 9)).save(out)  # someone else's file, after our checks
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    assert np.asarray(Image.open(out))[0, 0].tolist() == [9, 9, 9]
    kept = rest.split("the result is in ")[1].split()[0]
    with Image.open(kept) as img:
        assert img.size == (20, 16)
