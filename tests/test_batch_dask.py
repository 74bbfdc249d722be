"""A batch on Dask distributed: a real LocalCluster of 2 worker processes on 127.0.0.1 (the cluster extra,
small images, the small synthetic network). The same images as the serial run, bit for bit; a worker killed
during a task; a re-run that skips what is done; a corrupt item reported while the rest complete; Ctrl-C with
local workers; a scheduler that cannot be reached, or that has no workers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from batch_inputs import batch_argv, read, write_album
from cli_inputs import run_cli

import vgg
from vgg.batch.executor import FAILED, FINISHED, STARTED, ExecutorOptions, Task, run_tasks
from vgg.batch.progress import PROGRESS, RESTARTED

EXTRA = "Dask distributed is not installed: pip install -e '.[cluster]'"
distributed = pytest.importorskip("distributed", reason=EXTRA)
dask = pytest.importorskip("dask", reason=EXTRA)
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and process groups")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ITERATIONS = 100  # about half a second an item on one core: time for a kill to land in the middle of one
NAMES = [f"img{k}" for k in range(4)]


@pytest.fixture(scope="module")
def cluster():
    environ = dict(os.environ)  # the nanny sets its workers' variables (1 BLAS thread, ...) in ours: put it back
    local = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                     dashboard_address="127.0.0.1:0")  # fmt: skip
    client = distributed.Client(local, set_as_default=False)
    yield local, client
    client.close()
    local.close()
    os.environ.clear()
    os.environ.update(environ)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_album(tmp_path_factory.mktemp("dask"), 4, broken=True)


@pytest.fixture(scope="module")
def serial(files, tmp_path_factory):
    """The serial batch's outputs, with checkpoints: the reference."""
    out = tmp_path_factory.mktemp("serial")
    summary = vgg.stylize_batch(_album(files), [files / "style.png"], out / "{name}.png", **_options(files, out))
    assert [o.status for o in summary.outcomes] == ["done"] * 4
    return out


def _album(files):
    return [files / "album" / f"{name}.png" for name in NAMES]


def _options(files, out, **more):
    return dict(network=str(files / "vgg.mat"), iterations=ITERATIONS, seed=7, progress="never",
                checkpoint_output=str(out / "{name}_%d.png"), checkpoint_iterations=40, **more)  # fmt: skip


def ours(err):
    return [line for line in err.splitlines() if line.startswith("stylize: ") and "MD5" not in line]


def test_on_the_cluster_the_images_are_the_serial_ones_and_a_corrupt_item_fails_alone(cluster, files, serial, tmp_path,
                                                                                      capsys):  # fmt: skip
    address = cluster[0].scheduler_address
    argv = batch_argv(files, tmp_path / "{name}.png", ITERATIONS, "--cluster", address, "--checkpoint-output",
                      tmp_path / "{name}_%d.png", "--checkpoint-iterations", 40)  # fmt: skip
    code, err = run_cli(capsys, argv)
    assert code == 1 and "stylize: 5 items: 4 done, 1 failed" in ours(err), err
    assert f"stylize: failed: broken: {files / 'album' / 'broken.png'}: not an image format" in err
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(serial))  # checkpoints and states included
    for name in NAMES:
        assert (read(tmp_path / f"{name}.png") == read(serial / f"{name}.png")).all(), name
    workers = {m[1] for m in re.finditer(r"^stylize: done: .* s, (\S+)\)$", err, re.M)}
    assert workers == set(cluster[1].run(os.getpid))  # both workers took items
    code, err = run_cli(capsys, argv)
    assert code == 1 and "stylize: skipping 4 of 5 items whose outputs are there already" in err


def test_a_worker_killed_during_a_task_is_replaced_and_the_batch_completes(cluster, files, serial, tmp_path):
    pids, where, seen = cluster[1].run(os.getpid), {}, []

    def kill_during_the_first_item(progress):
        seen.append(progress.what)
        if progress.what == STARTED:
            where[progress.item] = progress.detail
        if progress.what == PROGRESS and progress.item == "img0" and len(pids) == 2:
            os.kill(pids.pop(where["img0"]), signal.SIGKILL)

    summary = vgg.stylize_batch(_album(files), [files / "style.png"], tmp_path / "{name}.png",
                                cluster=cluster[0].scheduler_address, on_progress=kill_during_the_first_item,
                                **_options(files, tmp_path))  # fmt: skip
    assert len(pids) == 1 and RESTARTED in seen, seen
    assert [o.status for o in summary.outcomes] == ["done"] * 4 and summary.exit_status == 0
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(serial))  # no partial file, no mark, no temporary
    for name in NAMES:
        assert (read(tmp_path / f"{name}.png") == read(serial / f"{name}.png")).all(), name


def test_ctrl_c_with_local_workers_saves_the_running_items_and_keeps_the_workers(files, tmp_path):
    album = [files / "album" / f"{name}.png" for name in NAMES[:3]]
    argv = batch_argv(files, tmp_path, 10**6, "--workers", 2, "--progress", "always", content=album)
    code = "import sys, stylize_cli; sys.exit(stylize_cli.main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    for line in proc.stderr:  # the status line once two items run
        if "now img" in line and "%, img" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: to the client and to its workers
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, err
    assert "3 items: 2 interrupted, 1 not done" in err and "died" not in err, err
    assert sorted(os.listdir(tmp_path)) == [".img0.png.batch", ".img1.png.batch", "img0.png", "img1.png"]
    assert read(tmp_path / "img0.png").shape == (16, 20, 3)


def test_a_scheduler_that_cannot_be_reached_is_one_line(files, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once it is closed
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, err = run_cli(capsys, batch_argv(files, tmp_path, 2, "--cluster", f"tcp://127.0.0.1:{port}"))
    assert code == 1 and f"stylize: gave up: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err
    assert "Traceback" not in err and os.listdir(tmp_path) == []


def square(payload, context):
    if payload < 0:
        raise ValueError("negative\nsecond line")
    return payload * payload


def test_the_executor_on_dask_and_a_scheduler_without_workers(cluster):
    events = []
    tasks = [Task(str(n), square, n) for n in (2, 3, -1)]
    finished = run_tasks(tasks, ExecutorOptions(cluster=cluster[0].scheduler_address), events.append)
    assert {k: (e.kind, e.value, e.error) for k, e in finished.ended.items()} == {
        "2": (FINISHED, 4, ""), "3": (FINISHED, 9, ""), "-1": (FAILED, None, "ValueError: negative"),
    }  # fmt: skip
    assert sorted(e.key for e in events if e.kind == STARTED) == ["-1", "2", "3"]
    empty = distributed.LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0")
    try:
        options = ExecutorOptions(cluster=empty.scheduler_address, lost_after=1)
        start = time.monotonic()
        finished = run_tasks(tasks, options, events.append)
        waited = time.monotonic() - start
    finally:
        empty.close()
    assert finished.ended == {} and finished.lost.endswith("has had no worker for 1 s")
    assert waited < 10  # it gave up after lost_after (and a look at the workers every 2 s), not at some other time
