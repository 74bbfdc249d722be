"""stylize_cli.py end to end on tiny images, and every bad input: one line, non-zero exit, no traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from cli_inputs import cli_argv, run_cli, write_cli_inputs
from PIL import Image
from synthetic_vgg import sample_image

import stylize_cli
from minigrad import backend as mg_backend
from vgg.cli import flags as cli_flags
from vgg.cli import session
from vgg.cli.invocation import flag_names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = write_cli_inputs(tmp_path_factory.mktemp("cli"), "old", style_hw=(30, 24), style_mode="L")
    Image.fromarray(sample_image(20, 20, seed=3).astype(np.uint8)).convert("P").save(root / "style2.gif")
    return root


def args_for(files, out, *extra):
    return cli_argv(files, out, 3, *extra)


def test_end_to_end(files, tmp_path, capsys):
    out = tmp_path / "out.jpg"
    extra = ["--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, args_for(files, out, "--print-iterations", "2", "--seed", "1", *extra))
    assert code == 0, err
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.mode == "RGB" and img.size == (20, 16)
    assert sorted(os.listdir(tmp_path)) == ["ck0.png", "ck1.png", "ck1.state.npz", "out.jpg"]  # the newest state
    lines = err.splitlines()
    assert lines[0].startswith("stylize: warning: ") and "MD5" in lines[0]  # our synthetic file
    assert [x for x in lines if x.startswith("Iteration")] == ["Iteration 1/3", "Iteration 2/3", "Iteration 3/3"]
    assert (
        len(
            re.findall(
                r"^ {2}content loss: \S+\n {4}style loss: \S+\n {7}tv loss: \S+\n {4}total loss: \S+$", err, re.M
            )
        )
        == 2
    )
    assert "Traceback" not in err


def test_width_styles_initial_and_new_flags(files, tmp_path, capsys):
    out = tmp_path / "out.png"
    extra = [
        "--width",
        "10",
        "--styles",
        str(files / "style.png"),
        str(files / "style2.gif"),
        "--style-scales",
        "1.0",
        "0.5",
        "--style-blend-weights",
        "2",
        "1",
        "--initial",
        str(files / "content.png"),
        "--initial-noiseblend",
        "0.3",
        "--seed",
        "2",
        "--pooling",
        "avg",
        "--content-weight-blend",
        "0.5",
        "--style-layer-weight-exp",
        "1.5",
        "--preserve-colors",
        "--beta1",
        "0.8",
        "--beta2",
        "0.99",
        "--epsilon",
        "1e-6",
        "--learning-rate",
        "2",
        "--progress",
        "always",
    ]
    code, err = run_cli(capsys, args_for(files, out, *extra))
    assert code == 0, err
    with Image.open(out) as img:
        assert img.size == (10, 8)  # floor(16 / 20 * 10)
    assert "elapsed" in err and "remaining" in err
    assert [x for x in err.splitlines() if x.startswith("Iteration")] == [f"Iteration {i}/3" for i in (1, 2, 3)]


def test_seed_makes_runs_identical_and_overwrite_replaces(files, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert run_cli(capsys, args_for(files, out, "--seed", "4"))[0] == 0
    first = np.asarray(Image.open(out))
    code, err = run_cli(capsys, args_for(files, out, "--seed", "4"))
    assert code == 2 and "--overwrite" in err
    assert run_cli(capsys, args_for(files, out, "--seed", "4", "--overwrite"))[0] == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), first)


def test_nan_loss_saves_the_best_finite_image(files, tmp_path, capsys):
    out = tmp_path / "out.png"
    code, err = run_cli(
        capsys, args_for(files, out, "--initial", str(files / "content.png"), "--learning-rate", "1e38")
    )
    assert code == 1
    assert [x for x in err.splitlines() if x.startswith("stylize: error")] == [
        x for x in err.splitlines() if "loss became" in x
    ]
    assert "saved the best finite image" in err and out.exists()
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(files / "content.png")))


def _bad_cases(files, tmp):
    corrupt = tmp / "corrupt.png"
    Image.fromarray(sample_image(40, 40).astype(np.uint8)).save(corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:200])
    not_mat = tmp / "not.mat"
    not_mat.write_text("hello")
    (tmp / "exists.png").write_bytes(b"")
    content = str(files / "content.png")
    return {
        "missing content": (["--content", str(tmp / "nope.png")], "nope.png: no such file"),
        "corrupt style": (["--styles", str(corrupt)], "corrupt.png: corrupt or truncated"),
        "style not an image": (["--styles", str(not_mat)], "not an image format"),
        "missing initial": (["--initial", str(tmp / "nope.jpg")], "nope.jpg: no such file"),
        "missing network": (["--network", str(tmp / "nope.mat")], "does not exist"),
        "invalid network": (["--network", str(not_mat)], "not a network file this program reads"),
        "network is an image": (["--network", content], "not a network file this program reads"),
        "checkpoint without %s": (["--checkpoint-output", "x.png", "--checkpoint-iterations", "1"], "%s"),
        "checkpoint %d": (["--checkpoint-output", "x%d%d.png", "--checkpoint-iterations", "1"], "%s"),
        "checkpoint half": (["--checkpoint-iterations", "1"], "both --checkpoint-output"),
        "zero iterations": (["--iterations", "0"], "iterations must be positive"),
        "negative iterations": (["--iterations", "-3"], "iterations must be positive"),
        "zero width": (["--width", "0"], "--width must be positive"),
        "negative width": (["--width", "-5"], "--width must be positive"),
        "blend count": (["--style-blend-weights", "1", "2"], "--style-blend-weights: 2 weights for 1 styles"),
        "scale count": (["--style-scales", "1", "2"], "--style-scales: 2 values for 1 styles"),
        "unknown backend": (["--backend", "tpu"], "--backend"),
        "unknown pooling": (["--pooling", "min"], "--pooling"),
        "not a number": (["--iterations", "ten"], "--iterations"),
        "missing required": (["--output"], "--output"),
        "existing output": (["--output", str(tmp / "exists.png")], "already exists; pass --overwrite"),
        "output directory": (["--output", str(tmp / "no" / "o.png")], "does not exist"),
        "output extension": (["--output", str(tmp / "o.weird")], "names no image format"),
        "noiseblend range": (["--initial-noiseblend", "2"], "--initial-noiseblend must be in [0, 1]"),
        "style weights all zero": (["--style-blend-weights", "0"], "not all 0"),
        "zero learning rate": (["--learning-rate", "0"], "--learning-rate must be positive"),
        "output format without RGB": (["--output", str(tmp / "o.xbm")], "cannot be written as an RGB XBM image"),
        "network is a directory": (["--network", str(tmp)], "is a directory"),
        "output is a checkpoint": (
            [
                "--output",
                str(tmp / "ck0.png"),
                "--checkpoint-output",
                str(tmp / "ck%s.png"),
                "--checkpoint-iterations",
                "1",
            ],
            "is also the checkpoint images file of iteration 0 (--checkpoint-output): one file would be written twice",
        ),
    }


BAD = [
    "missing content",
    "corrupt style",
    "style not an image",
    "missing initial",
    "missing network",
    "invalid network",
    "network is an image",
    "checkpoint without %s",
    "checkpoint %d",
    "checkpoint half",
    "zero iterations",
    "negative iterations",
    "zero width",
    "negative width",
    "blend count",
    "scale count",
    "unknown backend",
    "unknown pooling",
    "not a number",
    "missing required",
    "existing output",
    "output directory",
    "output extension",
    "noiseblend range",
    "style weights all zero",
    "zero learning rate",
    "output format without RGB",
    "network is a directory",
    "output is a checkpoint",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_exit_2(files, tmp_path, capsys, case):
    cases = _bad_cases(files, tmp_path)
    extra, expected = cases[case]
    argv = args_for(files, tmp_path / "o.png") + extra
    if case == "missing required":
        argv = ["--content", "c.png", "--styles", "s.png"]
    code, err = run_cli(capsys, argv)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("stylize: error: ") and expected in err
    assert not (tmp_path / "o.png").exists()


def test_cupy_without_cuda_is_one_line(files, tmp_path, capsys):
    if mg_backend.cuda_available():
        pytest.skip("a CUDA device is present")
    code, err = run_cli(capsys, args_for(files, tmp_path / "o.png", "--backend", "cupy"))
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("stylize: error: backend 'cupy'")


def test_output_is_checked_before_any_computation(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(session, "load_network", lambda *a, **k: pytest.fail("network loaded before the check"))
    monkeypatch.setattr(session, "load_image", lambda *a: pytest.fail("image read before the check"))
    code, err = run_cli(capsys, args_for(files, tmp_path / "missing" / "o.png"))
    assert code == 2 and "does not exist" in err


def test_help_lists_every_flag_with_defaults(capsys):
    assert stylize_cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    parser = cli_flags.build_parser()
    flags = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    # the derivation itself: the original's flags and ours, the later ones among them
    assert {"--content", "--epsilon", "--eps", "--optimizer", "--line-search", "--resume", "--tf32"} <= set(flags)
    for flag in flags:
        assert re.search(rf"(?<![\w-]){flag}(?![\w-])", text), flag  # --initial is not --initial-noiseblend
    defaults = cli_flags.parse(["--content", "c", "--styles", "s", "--output", "o"]).values
    assert defaults["iterations"] == 100 and defaults["content_weight"] == 5.0 and defaults["style_weight"] == 100.0
    assert defaults["tv_weight"] == 100.0 and defaults["learning_rate"] is None  # the optimiser's own default
    assert defaults["network"] == "imagenet-vgg-verydeep-19.mat" and defaults["backend"] == "numpy"
    assert defaults["pooling"] == "max" and defaults["content_weight_blend"] == 1.0
    assert defaults["beta1"] == 0.9 and defaults["beta2"] == 0.999 and defaults["epsilon"] == 1e-8


def test_as_a_program(files, tmp_path):
    out = tmp_path / "o.png"
    argv = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), *args_for(files, out, "--iterations", "1")]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.exists()
    bad = subprocess.run(
        [*argv, "--width", "0"], check=False, capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr


def test_out_of_memory_is_one_line_naming_the_size(files, tmp_path, capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.00 TiB")

    monkeypatch.setattr(session, "write_images", no_memory)
    out = tmp_path / "out.png"
    code, err = run_cli(capsys, args_for(files, out))
    lines = [ln for ln in err.strip().splitlines() if "warning: " not in ln]  # the synthetic file's MD5 warning
    assert code == 2 and len(lines) == 1, err
    assert "out of host memory for a 20x16 image" in lines[0] and "--width" in lines[0]
    assert not out.exists()


def test_tf32_needs_the_cupy_backend(files, tmp_path, capsys):
    out = tmp_path / "out.png"
    code, err = run_cli(capsys, args_for(files, out, "--tf32"))
    assert code == 2 and err.strip() == "stylize: error: --tf32 needs --backend cupy"
    assert not out.exists()


def test_outputs_are_readable_by_others_as_the_umask_says(files, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        out = tmp_path / "out.png"
        code, err = run_cli(capsys, args_for(files, out, "--iterations", "1"))
    finally:
        os.umask(old)
    assert code == 0, err
    assert os.stat(out).st_mode & 0o777 == 0o644


def test_flag_names_rewrites_setting_names_but_not_file_names():
    assert flag_names("learning_rate must be positive") == "--learning-rate must be positive"
    assert flag_names("print_iterations and iterations") == "--print-iterations and --iterations"
    for untouched in ("out/progress.tsv exists", "'iterations%d.jpg'", "x.progress", "--checkpoint-iterations"):
        assert flag_names(untouched) == untouched
