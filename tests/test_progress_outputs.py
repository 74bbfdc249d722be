"""--progress-write (the losses as a tab-separated file) and --progress-plot (a chart drawn with Pillow)."""

from __future__ import annotations

import io
import math
import os
import re

import numpy as np
import pytest
import test_cli
from cli_inputs import run_cli as run
from PIL import Image
from test_cli import args_for

import stylize_cli
from minigrad import backend as mg_backend
from vgg import StyleConfig, random_vgg19, stylize
from vgg.cli import flags as cli_flags
from vgg.cli import session
from vgg.report.history import HEADER, History
from vgg.report.plot import SERIES, SIZE, draw_losses
from vgg.style.config import READBACK_EVERY

files = test_cli.files  # the tiny content, style and synthetic .mat of the CLI tests (a fixture)
LOSS_BLOCK = re.compile(
    r"^Iteration (\d+)/\d+\n {2}content loss: (\S+)\n {4}style loss: (\S+)\n {7}tv loss: (\S+)\n"
    r" {4}total loss: (\S+)$",
    re.M,
)


def read_tsv(path):
    lines = path.read_text().splitlines()
    return lines[0], [[float(v) for v in line.split("\t")] for line in lines[1:]]


def colours(path):
    with Image.open(path) as img:
        return img.size, {c for _, c in img.convert("RGB").getcolors(maxcolors=1 << 20)}


def count(img, colour):
    return int(np.all(np.asarray(img) == colour, axis=-1).sum())


def lines_drawn(chart):
    """Pixels of each series' colour beyond those of the legend (a chart of no data has the same legend)."""
    legend_only = draw_losses([0, 1], {}, chart.size)
    return {name: count(chart, colour) - count(legend_only, colour) for name, colour in SERIES}


def test_the_file_holds_every_evaluation_and_equals_the_printed_losses(files, tmp_path, capsys):
    tsv = tmp_path / "progress.tsv"
    code, err = run(
        capsys, args_for(files, tmp_path / "o.png", "--print-iterations", "1", "--progress-write", str(tsv))
    )
    assert code == 0, err
    header, rows = read_tsv(tsv)
    assert header == HEADER == "iteration\tcontent\tstyle\ttv\ttotal"
    assert [row[0] for row in rows] == [0, 1, 2, 3]  # the start and after each of the 3 steps (numpy: all read)
    printed = LOSS_BLOCK.findall(err)
    assert len(printed) == 3
    for k, *values in printed:  # the losses under `Iteration k` are those after k - 1 steps
        assert ["%g" % v for v in rows[int(k) - 1][1:]] == values  # noqa: UP031 - the printed format
    assert all(row[4] > 0 and math.isfinite(row[4]) for row in rows)


def test_the_plot_is_a_chart_of_the_expected_size(files, tmp_path, capsys):
    png = tmp_path / "progress.png"
    code, err = run(capsys, args_for(files, tmp_path / "o.png", "--progress-plot", str(png)))
    assert code == 0, err
    size, seen = colours(png)
    assert size == SIZE and len(seen) > 10  # series, grid, anti-aliased labels
    with Image.open(png) as img:
        drawn = lines_drawn(img.convert("RGB"))
    assert drawn["total"] > 0 and drawn["content"] + drawn["style"] + drawn["tv"] > 0  # total may hide one
    assert sorted(os.listdir(tmp_path)) == ["o.png", "progress.png"]  # no temporary file left


def test_default_writes_no_progress_files(files, tmp_path, capsys):
    assert run(capsys, args_for(files, tmp_path / "o.png"))[0] == 0
    assert os.listdir(tmp_path) == ["o.png"]
    defaults = cli_flags.parse(["--content", "c", "--styles", "s", "--output", "o"]).values
    assert defaults["progress_write"] is None and defaults["progress_plot"] is None
    assert stylize_cli.main(["--help"]) == 0
    assert "--progress-write FILE" in capsys.readouterr().out


def test_lines_are_flushed_and_the_plot_redrawn_at_each_checkpoint(tmp_path):
    net = random_vgg19(seed=0, channel_scale=1 / 16)
    rng = np.random.default_rng(0)
    content, style = rng.uniform(0, 255, (12, 14, 3)), rng.uniform(0, 255, (12, 14, 3))
    tsv, png = tmp_path / "p.tsv", tmp_path / "p.png"
    config = StyleConfig(iterations=4, checkpoint_iterations=2)
    run_ = stylize(
        net, content, [style], config=config, seed=1, progress="never", progress_write=tsv, progress_plot=png
    )
    iteration, _ = next(run_)
    assert iteration == 0
    assert [row[0] for row in read_tsv(tsv)[1]] == [0, 1]  # readable mid-run: flushed
    first = np.asarray(Image.open(png))
    assert [it for it, _ in run_] == [2, None]
    assert [row[0] for row in read_tsv(tsv)[1]] == [0, 1, 2, 3, 4]
    assert not np.array_equal(np.asarray(Image.open(png)), first)  # redrawn with the later iterations


def test_a_diverging_run_records_the_bad_loss_and_still_plots(files, tmp_path, capsys):
    tsv, png = tmp_path / "p.tsv", tmp_path / "p.png"
    extra = ["--initial", str(files / "content.png"), "--learning-rate", "1e38"]
    extra += ["--progress-write", str(tsv), "--progress-plot", str(png)]
    code, err = run(capsys, args_for(files, tmp_path / "o.png", *extra))
    assert code == 1, err
    rows = read_tsv(tsv)[1]
    assert math.isfinite(rows[0][4]) and not math.isfinite(rows[-1][4])
    assert colours(png)[0] == SIZE


@pytest.mark.parametrize("flag, name", [("--progress-write", "p.tsv"), ("--progress-plot", "p.png")])
def test_existing_file_is_refused_without_overwrite(files, tmp_path, capsys, flag, name):
    target = tmp_path / name
    target.write_bytes(b"keep me")
    argv = args_for(files, tmp_path / "o.png", flag, str(target))
    code, err = run(capsys, argv)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("stylize: error: ") and "already exists; pass --overwrite" in err
    assert target.read_bytes() == b"keep me" and not (tmp_path / "o.png").exists()
    assert run(capsys, [*argv, "--overwrite"])[0] == 0
    assert target.read_bytes() != b"keep me"


def _unwritable(tmp_path, monkeypatch):
    """A read-only directory; os.access is told so too, since root may write to one anyway."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    return locked


BAD = {
    "write: read-only directory": ("--progress-write", "locked/p.tsv", "is not writable"),
    "write: missing directory": ("--progress-write", "missing/p.tsv", "does not exist"),
    "write: a directory": ("--progress-write", ".", "is a directory"),
    "plot: read-only directory": ("--progress-plot", "locked/p.png", "is not writable"),
    "plot: missing directory": ("--progress-plot", "missing/p.png", "does not exist"),
    "plot: not an image format": ("--progress-plot", "p.weird", "names no image format"),
    "write: the output": ("--progress-write", "o.png", "one file would be written twice"),
    "plot: the output": ("--progress-plot", "o.png", "one file would be written twice"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_is_one_line_before_any_computation(files, tmp_path, capsys, monkeypatch, case):
    flag, name, expected = BAD[case]
    _unwritable(tmp_path, monkeypatch)
    monkeypatch.setattr(session, "load_network", lambda *a, **k: pytest.fail("network loaded before the check"))
    monkeypatch.setattr(session, "load_image", lambda *a: pytest.fail("image read before the check"))
    code, err = run(capsys, args_for(files, tmp_path / "o.png", flag, str(tmp_path / name)))
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("stylize: error: ") and expected in err
    assert sorted(os.listdir(tmp_path)) == ["locked"]


def test_both_flags_on_one_file_are_refused(files, tmp_path, capsys):
    same = str(tmp_path / "p.png")
    code, err = run(capsys, args_for(files, tmp_path / "o.png", "--progress-write", same, "--progress-plot", same))
    assert code == 2 and len(err.splitlines()) == 1 and "one file would be written twice" in err


@pytest.mark.parametrize("backend, readback", [("numpy", None), ("numpy", 10), ("cupy", None)])
def test_rows_only_where_the_loop_reads_the_loss_back(tmp_path, backend, readback):
    if backend == "cupy" and not mg_backend.cuda_available():
        pytest.skip("no CUDA device")
    net = random_vgg19(seed=0, channel_scale=1 / 16, backend=backend)
    image = np.random.default_rng(0).uniform(0, 255, (12, 14, 3))
    tsv, stream = tmp_path / "p.tsv", io.StringIO()
    config = StyleConfig(iterations=25, print_iterations=7, backend=backend)
    list(
        stylize(net, image, [image], config=config, seed=0, readback_every=readback, stream=stream, progress_write=tsv)
    )
    rows = read_tsv(tsv)[1]
    # every 10th (the GPU's default): the start, every 10th, before each print (7, 14, 21; 24 before the last), the end
    expected = list(range(26)) if (backend, readback) == ("numpy", None) else [0, 7, 10, 14, 20, 21, 24, 25]
    assert [int(row[0]) for row in rows] == expected
    printed = {int(k) - 1: values for k, *values in LOSS_BLOCK.findall(stream.getvalue())}
    assert sorted(printed) == [0, 7, 14, 21, 24]
    recorded = {int(row[0]): ["%g" % v for v in row[1:]] for row in rows}  # noqa: UP031 - the printed format
    assert all(recorded[step] == values for step, values in printed.items())


def test_the_readback_default_is_chosen_from_the_backend():
    assert StyleConfig().readback() == READBACK_EVERY["numpy"] == 1
    assert StyleConfig(backend="cupy").readback() == READBACK_EVERY["cupy"] == 10
    assert StyleConfig(backend="cupy", readback_every=1).readback() == 1


def test_the_plot_leaves_out_values_a_log_scale_cannot_show(tmp_path):
    history = History(plot=tmp_path / "h.png")
    for step, total in enumerate([100.0, 0.0, float("nan"), 10.0, 1.0]):
        history.record(step, {"content": total / 50, "style": -1.0, "tv": float("inf"), "total": total})
    history.save_plot()
    with Image.open(tmp_path / "h.png") as img:
        chart = img.convert("RGB")
    assert chart.size == SIZE
    drawn = lines_drawn(chart)
    assert drawn["total"] > 0 and drawn["content"] > 0 and drawn["style"] == drawn["tv"] == 0
