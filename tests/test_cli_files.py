"""Files the user already has: no clobbering even under races, inputs never outputs, write failures and
interrupts that keep the work (real signals to a real process)."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from cli_inputs import cli_argv, run_cli, write_cli_inputs
from PIL import Image

from vgg.cli import session
from vgg.errors import OutputExistsError
from vgg.files import atomic as outputs
from vgg.files import state
from vgg.report import history

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("files"), "old")


def argv_for(files, out, *extra):
    return cli_argv(files, out, 3, "--progress", "never", *extra)


def errors(err):
    return [line for line in err.splitlines() if line.startswith("stylize: ") and "MD5" not in line]


# ---- no clobbering, even under races ------------------------------------------------------


def test_placement_never_replaces_a_file_that_appeared(tmp_path):
    tmp, name = tmp_path / ".o.tmp.png", tmp_path / "o.png"
    tmp.write_bytes(b"result")
    name.write_bytes(b"someone else's")
    with pytest.raises(OutputExistsError) as info:
        outputs.place(str(tmp), str(name), overwrite=False)
    assert name.read_bytes() == b"someone else's" and tmp.read_bytes() == b"result"
    assert str(tmp) in str(info.value)
    outputs.place(str(tmp), str(name), overwrite=True)
    assert name.read_bytes() == b"result" and not tmp.exists()


def test_an_output_that_appears_during_the_run_is_kept_and_the_result_too(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "o.png"
    make_run = session.make_run

    def racing(inv, resume):  # another run writes --output after our checks passed
        loop = make_run(inv, resume)
        Image.new("RGB", (5, 5), (1, 2, 3)).save(out)
        return loop

    monkeypatch.setattr(session, "make_run", racing)
    code, err = run_cli(capsys, argv_for(files, out))
    assert code == 1 and len(errors(err)) == 1, err
    assert np.asarray(Image.open(out))[0, 0].tolist() == [1, 2, 3]  # the other run's file, untouched
    kept = err.split("the result is in ")[1].split()[0]
    assert "appeared while the run was going" in err and os.path.dirname(kept) == str(tmp_path)
    with Image.open(kept) as img:
        assert img.size == (20, 16)


def test_every_checkpoint_that_appeared_during_the_run_is_kept_and_named(files, tmp_path, capsys, monkeypatch):
    make_run = session.make_run

    def racing(inv, resume):  # another run writes our checkpoint names after our checks passed
        loop = make_run(inv, resume)
        for i in range(4):
            Image.new("RGB", (5, 5), (1, 2, 3)).save(tmp_path / f"ck{i}.png")
        return loop

    monkeypatch.setattr(session, "make_run", racing)
    extra = ["--iterations", "5", "--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    hidden = sorted(n for n in os.listdir(tmp_path) if n.startswith(".ck"))
    assert len(hidden) == 4 and all(f"ck{i}.png appeared" in err for i in range(4)), err
    assert all(name in err for name in hidden), (hidden, err)  # none is left without a word
    for i in range(4):
        with Image.open(tmp_path / f"ck{i}.png") as img:
            assert img.size == (5, 5)  # the other run's files are untouched


def _racing(monkeypatch, names):
    make_run = session.make_run

    def racing(inv, resume):  # another run writes these files after our checks passed
        loop = make_run(inv, resume)
        for name in names:
            name.write_bytes(b"someone else's")
        return loop

    monkeypatch.setattr(session, "make_run", racing)


def test_a_state_that_appeared_during_the_run_is_kept_and_ours_too(files, tmp_path, capsys, monkeypatch):
    theirs = [tmp_path / f"ck{i}.state.npz" for i in range(2)]
    _racing(monkeypatch, theirs)
    extra = ["--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    assert all(name.read_bytes() == b"someone else's" for name in theirs)
    kept = sorted(n for n in os.listdir(tmp_path) if n.startswith(".ck") and n.endswith(".npz"))
    assert len(kept) == 2 and all(name in err for name in kept), (kept, err)


def test_a_failed_state_write_is_reported_once(files, tmp_path, capsys, monkeypatch):
    def full(f, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(state.np, "savez", full)
    extra = ["--iterations", "5", "--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    warnings = [line for line in errors(err) if "state" in line]
    assert len(warnings) == 1 and "ck0.state.npz" in warnings[0] and "No space left" in warnings[0], err
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".npz")]


@pytest.mark.parametrize("flag, name", [("--log", "l.jsonl"), ("--progress-write", "p.tsv")])
def test_a_loss_file_that_appeared_during_the_run_is_not_truncated(files, tmp_path, capsys, monkeypatch, flag, name):
    path = tmp_path / name
    _racing(monkeypatch, [path])
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", flag, str(path)))
    assert code == 0 and (tmp_path / "o.png").exists(), err
    assert path.read_bytes() == b"someone else's"
    assert len(errors(err)) == 1 and f"{flag}: {path}: cannot be written ([Errno 17]" in err, err


def test_a_progress_file_that_exists_is_opened_only_with_overwrite(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        history.History(path, overwrite=False)
    assert path.read_bytes() == b"someone else's"
    history.History(path, overwrite=True).close()
    assert path.read_text().startswith(history.HEADER)


def test_two_processes_racing_for_one_output_never_both_succeed(files, tmp_path):
    out = tmp_path / "o.png"
    argv = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), *argv_for(files, out, "--seed", "1")]
    procs = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 1], [0, 2]), results  # the loser: refused up front (2) or its result kept aside (1)
    assert sum("already exists" in e or "appeared while the run was going" in e for _, e in results) == 1


# ---- inputs are never outputs --------------------------------------------------------------


def _links(files, tmp_path):
    os.symlink(files / "content.png", tmp_path / "symlink.png")
    os.link(files / "style.png", tmp_path / "hardlink.png")
    return tmp_path


@pytest.mark.parametrize(
    "flag, target, input_flag",
    [
        ("--output", "content.png", "--content"),
        ("--output", "symlink.png", "--content"),
        ("--output", "hardlink.png", "--styles"),
        ("--progress-write", "style.png", "--styles"),
        ("--progress-plot", "content.png", "--content"),
        ("--progress-plot", "initial.png", "--initial"),
        ("--output", "net.png", "--network"),
        ("--log", "style.png", "--styles"),
        ("--log", "net.png", "--network"),
    ],
)
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_no_output_is_an_input(files, tmp_path, capsys, flag, target, input_flag, overwrite):
    _links(files, tmp_path)
    (tmp_path / "net.png").write_bytes((files / "vgg.mat").read_bytes())
    Image.open(files / "content.png").save(tmp_path / "initial.png")
    where = files if target in ("content.png", "style.png") else tmp_path
    extra = ["--initial", str(tmp_path / "initial.png"), *overwrite]
    if input_flag == "--network":
        extra += ["--network", str(tmp_path / "net.png")]
    before = (where / target).read_bytes()
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra, flag, str(where / target)))
    assert code == 2 and len(errors(err)) == 1, err
    assert f"{flag} " in err and "is the same file as" in err and input_flag in err
    assert (where / target).read_bytes() == before


@pytest.mark.parametrize("flag", ["--progress-write", "--progress-plot", "--log", "--output"])
def test_no_output_is_the_state_being_resumed(files, tmp_path, capsys, flag):
    extra = ["--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    saved = tmp_path / "ck1.state.npz"
    before = saved.read_bytes()
    argv = ["--resume", str(saved), "--progress", "never", "--overwrite"]
    argv += ["--output", str(tmp_path / "r.png")] if flag != "--output" else []
    code, err = run_cli(capsys, [*argv, flag, str(saved)])
    assert code == 2 and len(errors(err)) == 1, err
    assert f"{flag} {saved} is the same file as --resume" in err
    assert saved.read_bytes() == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_no_checkpoint_is_an_input(files, tmp_path, capsys, overwrite):
    Image.open(files / "content.png").save(tmp_path / "ck0.png")
    extra = ["--content", str(tmp_path / "ck0.png"), "--checkpoint-output", str(tmp_path / "ck%s.png")]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra, "--checkpoint-iterations", "1", *overwrite))
    assert code == 2 and "--checkpoint-output" in err and "--content" in err, err


def test_no_checkpoint_is_a_hard_link_of_an_input(files, tmp_path, capsys):
    os.link(files / "content.png", tmp_path / "ck_00002.png")
    extra = ["--checkpoint-output", str(tmp_path / "ck_%05d.png"), "--checkpoint-iterations", "2", "--overwrite"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--iterations", "5", *extra))
    assert code == 2 and "is the same file as --content" in err, err


# ---- write failures keep the work ----------------------------------------------------------


@pytest.fixture
def disk_full_for(monkeypatch):
    """disk_full_for(stems): Pillow's writes of the temporary files for stem.ext fail with ENOSPC."""
    save = Image.Image.save

    def failing(prefixes):
        def patched(self, fp, *args, **kwargs):
            fd = fp.fileno() if hasattr(fp, "name") else None  # BytesIO: the up-front format check
            name = "" if fd is None else os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            if any(re.match(rf"\.{p}\.[^.]+\.tmp", name) for p in prefixes):  # .o.XXXX.tmp.png
                raise OSError(28, "No space left on device")
            return save(self, fp, *args, **kwargs)

        monkeypatch.setattr(Image.Image, "save", patched)

    return failing


def test_a_full_disk_names_the_output_and_saves_the_result_under_a_fallback_name(
    files, tmp_path, capsys, disk_full_for
):
    disk_full_for(["o"])
    out = tmp_path / "o.png"
    code, err = run_cli(capsys, argv_for(files, out))
    assert code == 1 and len(errors(err)) == 1, err
    line = errors(err)[0]
    assert f"{out}: cannot be written ([Errno 28] No space left on device)" in line
    fallback = line.split("is saved as ")[1].split()[0]
    assert fallback == str(tmp_path / f"o.unsaved-{os.getpid()}.png") and not out.exists()
    with Image.open(fallback) as img:
        assert img.size == (20, 16)
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(fallback)]  # no temporary file left


def test_a_failed_copy_on_a_filesystem_without_links_leaves_no_partial_output(files, tmp_path, capsys, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    copy, calls = outputs.shutil.copyfileobj, []

    def full_once(src, dst):  # the copy to --output fails half way; the one to the fallback name works
        calls.append(1)
        if len(calls) == 1:
            dst.write(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        copy(src, dst)

    monkeypatch.setattr(outputs.os, "link", no_links)
    monkeypatch.setattr(outputs.shutil, "copyfileobj", full_once)
    out = tmp_path / "o.png"
    code, err = run_cli(capsys, argv_for(files, out))
    assert code == 1 and len(errors(err)) == 1 and f"{out}: cannot be written ([Errno 28]" in err, err
    assert not out.exists()  # no partial file under the output's name
    assert sorted(os.listdir(tmp_path)) == [f"o.unsaved-{os.getpid()}.png"]


def test_a_failed_checkpoint_is_reported_once_and_the_run_goes_on(files, tmp_path, capsys, disk_full_for):
    disk_full_for(["ck0", "ck1", "ck2", "ck3"])
    extra = ["--iterations", "5", "--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    warnings = [line for line in errors(err) if "checkpoint not saved" in line]
    assert len(warnings) == 1 and "ck0.png: cannot be written ([Errno 28]" in warnings[0]
    assert sorted(n for n in os.listdir(tmp_path) if not n.endswith(".state.npz")) == ["o.png"]


def test_a_failed_progress_file_is_reported_once_and_the_run_goes_on(files, tmp_path, capsys, monkeypatch):
    def full(f, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(history, "_write_line", full)
    log = tmp_path / "log.tsv"
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--progress-write", str(log)))
    assert code == 0 and (tmp_path / "o.png").exists(), err
    assert len(errors(err)) == 1 and f"--progress-write: {log}: cannot be written ([Errno 28]" in err


def test_a_failed_plot_is_reported_once_and_the_run_goes_on(files, tmp_path, capsys, disk_full_for):
    disk_full_for(["plot"])
    extra = ["--progress-plot", str(tmp_path / "plot.png"), "--checkpoint-output", str(tmp_path / "ck%s.png")]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra, "--checkpoint-iterations", "1"))
    assert code == 0 and (tmp_path / "o.png").exists(), err
    assert len(errors(err)) == 1 and "--progress-plot" in err and "plot.png: cannot be written" in err
