"""A batch run serially in this process (no Dask needed): the items --content makes and their file names, the
checks of the items together, the network and the style targets made once, re-runs that skip what is finished
and redo what an interruption left, a corrupt item that does not stop the others, the summary, the logs, the
Python API and its progress records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from batch_inputs import batch_argv, read, write_album
from cli_inputs import run_cli

import vgg
from vgg.batch import contents, marks
from vgg.batch.progress import DONE, END, FAILED, START, STARTED
from vgg.cli import item
from vgg.errors import ConfigError
from vgg.files import patterns
from vgg.style import run as run_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_album(tmp_path_factory.mktemp("batch"), 3, broken=True)


@pytest.fixture(autouse=True)
def fresh_caches():
    item._NETWORKS.clear()
    item._TARGETS.clear()


def ours(err):
    return [line for line in err.splitlines() if line.startswith("stylize: ") and "MD5" not in line]


def test_a_folder_is_its_images_sorted_and_each_name_stays_literal_in_patterns(tmp_path):
    for name in ("b.PNG", "a.jpg", ".hidden.png", "notes.txt", "50%{off}.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    files, from_folder = contents.expand([str(tmp_path)])
    assert [os.path.basename(f) for f in files] == ["50%{off}.png", "a.jpg", "b.PNG"] and set(files) == from_folder
    for template, name in (("ck/{name}_%05d.png", "50%off"), ("ck/{name}_{:05}.png", "50%{off}")):
        pattern = contents.fill(template, name, pattern=True)
        patterns.check_pattern(pattern)
        assert os.path.basename(patterns.checkpoint_name(pattern, 7)) == f"{name}_00007.png"
    with pytest.raises(ConfigError, match=r"the name '50%\{off\}' has braces.*\{:05\}"):
        contents.fill("ck/{name}_%05d.png", "50%{off}", pattern=True)
    assert contents.fill("out/{name}.jpg", "50%{off}") == "out/50%{off}.jpg"


def test_one_content_keeps_todays_record_and_several_need_their_own_files(files, tmp_path, capsys):
    literal = tmp_path / "out{name}.png"  # one content: a file of that name, as before
    code, err = run_cli(capsys, batch_argv(files, literal, 2, content=files / "content.png"))
    assert code == 0 and literal.exists() and "Iteration 2/2" in err and "items" not in err
    code, err = run_cli(capsys, batch_argv(files, tmp_path / "o.png", 2))
    assert code == 2 and ours(err) == [
        f"stylize: error: --output {tmp_path / 'o.png'}: with several contents each needs its own file: give a "
        "folder or a name with {name} in it, e.g. styled/{name}.jpg"
    ]
    code, err = run_cli(capsys, batch_argv(files, tmp_path, 2, "--progress-write", tmp_path / "p.tsv"))
    assert code == 2 and "--progress-write" in err and "{name}" in err and os.listdir(tmp_path) == ["out{name}.png"]


def test_two_contents_of_one_name_and_an_output_that_is_another_items_input_are_refused(files, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "img0.jpg").write_bytes((files / "album" / "img0.png").read_bytes())
    code, err = run_cli(capsys, batch_argv(files, tmp_path / "{name}.png", 2, content=[files / "album", other]))
    assert code == 2 and "have the same name 'img0'" in err and str(other / "img0.jpg") in err
    a, b = files / "album" / "img1.png", tmp_path / "img1_x.png"
    b.write_bytes(a.read_bytes())  # item img1 would write img1_x.png, the content of item img1_x
    code, err = run_cli(capsys, batch_argv(files, tmp_path / "{name}_x.png", 2, content=[a, b]))
    assert code == 2 and f"--content {b} of img1_x is also --output of img1; an input is never overwritten" in err


def test_the_network_and_the_style_targets_are_made_once_per_process(files, tmp_path, capsys, monkeypatch):
    loads, grams = [], []
    load, style_grams = item.session.load, run_module.style_grams
    monkeypatch.setattr(item.session, "load", lambda inv: loads.append(inv.content) or load(inv))
    monkeypatch.setattr(run_module, "style_grams", lambda *a: grams.append(a[1].shape) or style_grams(*a))
    album = [str(files / "album" / f"img{k}.png") for k in range(3)]
    code, _ = run_cli(capsys, batch_argv(files, tmp_path, 2, content=album))
    assert code == 0 and len(loads) == 1 and len(grams) == 1  # three contents of one size, one style


def test_a_corrupt_item_fails_alone_and_a_rerun_skips_what_is_finished(files, tmp_path, capsys):
    argv = batch_argv(files, tmp_path, 3)
    code, err = run_cli(capsys, argv)
    assert code == 1, err
    assert ours(err)[-2:] == [
        "stylize: 4 items: 3 done, 1 failed",
        f"stylize: failed: broken: {files / 'album' / 'broken.png'}: not an image format Pillow can read (unknown "
        "format or damaged header)",
    ]
    made = {name: os.stat(tmp_path / name).st_mtime_ns for name in ("img0.png", "img1.png", "img2.png")}
    assert sorted(os.listdir(tmp_path)) == sorted(made)  # no mark: the corrupt item left no file
    code, err = run_cli(capsys, argv)
    assert code == 1 and "stylize: skipping 3 of 4 items whose outputs are there already" in err
    assert "stylize: 4 items: 3 skipped, 1 failed" in ours(err)
    assert {name: os.stat(tmp_path / name).st_mtime_ns for name in made} == made
    code, err = run_cli(capsys, [*argv, "--overwrite"])
    assert (
        code == 1
        and "4 items: 3 done, 1 failed" in err
        and all(os.stat(tmp_path / name).st_mtime_ns != t for name, t in made.items())
    )


def test_the_per_item_logs_and_the_batch_log(files, tmp_path, capsys):
    album = [str(files / "album" / f"img{k}.png") for k in range(2)]
    per_item = batch_argv(files, tmp_path / "{name}.png", 2, "--log", tmp_path / "{name}.jsonl", content=album)
    assert run_cli(capsys, per_item)[0] == 0
    last = json.loads((tmp_path / "img1.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "batch item" and last["worker"] == "this process" and last["status"] == "done"
    assert last["seconds"] > 0
    batch_log = tmp_path / "batch.jsonl"
    argv = batch_argv(files, tmp_path / "b_{name}.png", 2, "--log", batch_log, content=album)
    for _ in range(2):  # the second run appends to its own log
        assert run_cli(capsys, argv)[0] == 0
    lines = [json.loads(line) for line in batch_log.read_text().splitlines()]
    assert [r["event"] for r in lines] == ["batch start", "item", "item", "batch end"] * 2
    assert [(r["item"], r["status"], r["worker"]) for r in lines[1:3]] == [
        ("img0", "done", "this process"),
        ("img1", "done", "this process"),
    ]
    assert lines[-1]["skipped"] == 2 and lines[0]["seed"] == 7


def test_marks_tell_a_finished_output_from_what_an_attempt_left(tmp_path):
    out = tmp_path / "o.png"
    out.write_bytes(b"best so far")
    marks.leave(str(out), "t", [str(out)], "interrupted")
    assert marks.read(str(out)).state == marks.LEFT and marks.changed(marks.read(str(out))) == []
    out.write_bytes(b"the user's own")  # changed since: the user's file, never replaced without --overwrite
    assert marks.changed(marks.read(str(out))) == [str(out)]
    assert marks.claim(str(out), "u").state == marks.LEFT and marks.read(str(out)).state == marks.RUNNING
    (tmp_path / ".o.png.batch").write_text("{cut sh")
    assert marks.read(str(out)) == marks.Mark("", marks.RUNNING)
    marks.release(str(out))
    assert os.listdir(tmp_path) == ["o.png"]


INTERRUPT = "import sys, stylize_cli; sys.exit(stylize_cli.main(sys.argv[1:]))"


def test_ctrl_c_keeps_the_finished_saves_the_running_and_the_same_command_does_the_rest(files, tmp_path):
    album = [str(files / "album" / f"img{k}.png") for k in range(3)]
    slow = batch_argv(files, tmp_path / "out", 100000, "--progress", "always", content=album)
    (tmp_path / "out").mkdir()
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPT, *slow], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # the status line once img0 has started
        if "now img0" in line:
            break
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, err
    assert "stylize: stopping: no new item starts" in err
    assert f"stylize: interrupted: img0: the best image so far saved to {tmp_path / 'out' / 'img0.png'}" in err
    assert "stylize: 3 items: 1 interrupted, 2 not done" in err
    assert sorted(os.listdir(tmp_path / "out")) == [".img0.png.batch", "img0.png"]
    fast = batch_argv(files, tmp_path / "out", 3, content=album)
    proc = subprocess.run([sys.executable, "-c", INTERRUPT, *fast], cwd=ROOT, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert proc.returncode == 0 and "3 items: 3 done" in proc.stderr, proc.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["img0.png", "img1.png", "img2.png"]  # img0 redone, no mark
    alone = tmp_path / "alone.png"  # one run of img0, never interrupted
    once = batch_argv(files, alone, 3, content=album[0])
    subprocess.run([sys.executable, "-c", INTERRUPT, *once], cwd=ROOT, check=True)
    np.testing.assert_array_equal(read(tmp_path / "out" / "img0.png"), read(alone))


def test_the_python_api_reports_progress_records(files, tmp_path):
    seen = []
    album = [files / "album" / f"img{k}.png" for k in range(2)] + [files / "album" / "broken.png"]
    summary = vgg.stylize_batch(album, [files / "style.png"], tmp_path, network=str(files / "vgg.mat"),
                                iterations=2, seed=7, progress="never", on_progress=seen.append)  # fmt: skip
    assert summary.exit_status == 1 and [o.status for o in summary.outcomes] == ["done", "done", "failed"]
    assert seen[0].what == START and seen[-1].what == END and seen[-1].done == 2 and seen[-1].failed == 1
    assert [(p.what, p.item) for p in seen if p.what in (STARTED, DONE, FAILED)] == [
        (STARTED, "img0"), (DONE, "img0"), (STARTED, "img1"), (DONE, "img1"), (STARTED, "broken"), (FAILED, "broken"),
    ]  # fmt: skip
    with pytest.raises(vgg.ConfigError, match="'iteration' is no option"):
        vgg.stylize_batch(album, [files / "style.png"], tmp_path, iteration=3)


def test_workers_without_dask_is_one_line_naming_the_extra(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed raises ImportError
    code, err = run_cli(capsys, batch_argv(files, tmp_path, 2, "--workers", 2))
    assert code == 2 and ours(err) == [
        "stylize: error: --workers needs Dask distributed, which is not installed: pip install -e '.[cluster]'"
    ]
