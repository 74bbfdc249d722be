"""The CLI's wiring (every flag reaches the run), --help, and the feature flags end to end: --resume, --log,
--dry-run, --optimizer, --scales."""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np
import pytest
import test_cli
from cli_inputs import run_cli as run
from PIL import Image
from synthetic_vgg import write_vgg19_mat
from test_cli import args_for

import stylize_cli
from vgg.cli import flags as cli_flags
from vgg.cli import session
from vgg.files import images
from vgg.report import states as report_states
from vgg.style.loop import End

files = test_cli.files  # the tiny content (20x16), style (24x30) and synthetic .mat of the CLI tests


class Spy:
    """Stands in for vgg.style.run.Run: records what the CLI hands it, yields the end at once."""

    calls: list = []

    def __init__(self, net, content, styles, initial=None, config=None, **kwargs):
        Spy.calls.append(
            {"net": net, "content": content, "styles": styles, "initial": initial, "config": config, **kwargs}
        )
        self.content, self.config = content, config

    def events(self):
        yield End(self.content)

    def full_size_plan(self):
        return None

    def keeps_heap(self):
        return True


@pytest.fixture
def spy(monkeypatch):
    Spy.calls = []
    monkeypatch.setattr(session, "Run", Spy)
    return Spy.calls


def test_every_flag_reaches_the_run(files, tmp_path, capsys, spy):
    extra = ["--styles", str(files / "style.png"), str(files / "style2.gif"), "--style-scales", "0.5", "2"]
    extra += ["--style-blend-weights", "3", "1", "--pooling", "avg", "--initial", str(files / "content.png")]
    extra += ["--initial-noiseblend", "0.25", "--content-weight", "7", "--style-weight", "11", "--tv-weight", "13"]
    extra += ["--content-weight-blend", "0.4", "--style-layer-weight-exp", "1.5", "--learning-rate", "2"]
    extra += ["--beta1", "0.8", "--beta2", "0.95", "--epsilon", "1e-6", "--preserve-colors", "--seed", "5"]
    extra += ["--print-iterations", "2", "--width", "10", "--progress", "never"]
    extra += ["--progress-write", str(tmp_path / "p.tsv"), "--progress-plot", str(tmp_path / "p.png")]
    code, err = run(capsys, args_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    (call,) = spy
    c = call["config"]
    assert call["content"].shape == (8, 10, 3)  # --width 10: floor(16 / 20 * 10) high
    # style.png 24 wide, 30 high; style2.gif 20 x 20; each against the content's width 10: scale * 10 / width
    assert [s.shape for s in call["styles"]] == [(6, 5, 3), (20, 20, 3)]
    assert (tmp_path / "p.tsv").read_text().startswith("iteration\t") and (tmp_path / "p.png").exists()
    assert "\r" not in err  # --progress never
    np.testing.assert_array_equal(call["initial"], images.load_image(files / "content.png"))
    assert call["net"].pooling == "avg" and c.pooling == "avg" and c.style_blend_weights == [3.0, 1.0]
    assert (c.initial_noiseblend, c.content_weight, c.style_weight, c.tv_weight) == (0.25, 7.0, 11.0, 13.0)
    assert (c.content_weight_blend, c.style_layer_weight_exp, c.learning_rate) == (0.4, 1.5, 2.0)
    assert (c.beta1, c.beta2, c.epsilon, c.preserve_colors, c.seed) == (0.8, 0.95, 1e-6, True, 5)
    assert (c.iterations, c.print_iterations) == (3, 2)
    assert c.optimizer == "adam" and call["resume"] is None and call["style_layers"] is False
    lbfgs = ["--optimizer", "lbfgs", "--lbfgs-history", "9", "--line-search", "strong_wolfe", "--overwrite"]
    code, err = run(capsys, args_for(files, tmp_path / "o.png", *lbfgs))
    assert code == 0, err
    assert (spy[-1]["config"].optimizer, spy[-1]["config"].lbfgs_history, spy[-1]["config"].line_search) == (
        "lbfgs", 9, "strong_wolfe")  # fmt: skip


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--optimizer", "lbfgs", "--beta1", "0.9"], "--beta1 applies to --optimizer adam only"),
        (["--optimizer", "lbfgs", "--eps", "1e-8"], "--eps applies to --optimizer adam only"),
        (["--lbfgs-history", "100"], "--lbfgs-history applies to --optimizer lbfgs only"),
        (["--optimizer", "adam", "--line-search", "none"], "--line-search applies to --optimizer lbfgs only"),
    ],
)
def test_a_flag_of_the_other_optimiser_is_one_line_naming_it(files, tmp_path, capsys, spy, flags, expected):
    code, err = run(capsys, args_for(files, tmp_path / "o.png", *flags))  # even at its default value
    assert code == 2 and len(err.splitlines()) == 1 and expected in err, err
    assert spy == [] and not (tmp_path / "o.png").exists()


def test_scale_flags_reach_the_run_with_the_styles_as_read(files, tmp_path, capsys, spy):
    extra = ["--scales", "8", "16", "--scale-iterations", "2", "4", "--style-scales", "0.5"]
    extra += [
        "--checkpoint-output",
        str(tmp_path / "c%s.png"),
        "--checkpoint-iterations",
        "5",
        "--log",
        str(tmp_path / "l"),
    ]
    code, err = run(capsys, args_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    (call,) = spy
    c = call["config"]
    assert (c.scales, c.scale_iterations, c.style_scales) == ([8, 16], [2, 4], [0.5])
    assert (c.checkpoint_iterations, call["style_layers"]) == (5, True)
    assert [s.shape for s in call["styles"]] == [(30, 24, 3)]  # resized at each scale by the run, not here


def test_help_names_every_flag_as_a_whole_word(capsys):
    assert stylize_cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    shown = set()  # the flags of each option line: "  --initial INITIAL", "  --epsilon EPSILON, --eps EPSILON"
    for line in text.splitlines():
        if re.match(r"^  -", line):
            invocation = re.split(r"\s{2,}", line.strip())[0]
            shown.update(part.split()[0] for part in invocation.split(", "))
    parser = cli_flags.build_parser()
    flags = {s for action in parser._actions for s in action.option_strings if s.startswith("--")}
    assert {"--initial", "--initial-noiseblend", "--optimizer", "--scales", "--scale-iterations", "--resume"} <= flags
    assert {"--lbfgs-history", "--line-search", "--log", "--dry-run", "--style-scales"} <= flags
    assert flags <= shown, sorted(flags - shown)  # set membership: --initial-noiseblend is not --initial


# ---- end to end ----------------------------------------------------------------------------------


def _pixels(path):
    with Image.open(path) as img:
        return np.asarray(img)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_resume_from_the_half_way_state_gives_the_same_output(files, tmp_path, capsys, optimizer):
    pattern = str(tmp_path / "ck%s.png")
    extra = ["--iterations", "6", "--checkpoint-output", pattern, "--checkpoint-iterations", "1", "--seed", "3"]
    extra += ["--optimizer", optimizer, "--keep-states", "0"]
    code, err = run(capsys, args_for(files, tmp_path / "straight.png", *extra))
    assert code == 0, err
    resumed = tmp_path / "resumed.png"
    code, err = run(capsys, ["--resume", str(tmp_path / "ck2.state.npz"), "--output", str(resumed), "--overwrite"])
    assert code == 0, err
    assert [x for x in err.splitlines() if x.startswith("Iteration")] == [f"Iteration {i}/6" for i in (4, 5, 6)]
    np.testing.assert_array_equal(_pixels(resumed), _pixels(tmp_path / "straight.png"))
    log = tmp_path / "resumed.jsonl"
    argv = ["--resume", str(tmp_path / "ck2.state.npz"), "--output", str(resumed), "--overwrite", "--log", str(log)]
    assert run(capsys, argv)[0] == 0
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines[0]["resumed"]["after_iteration"] == 2 and lines[0]["arguments"]["optimizer"] == optimizer
    assert [x["iteration"] for x in lines if x["event"] == "losses"] == [3, 4, 5, 6]  # after 3 steps, ...
    assert stylize_cli.main([*argv, "--dry-run"]) == 0
    assert "6 iterations, resumed after iteration 2" in capsys.readouterr().out
    np.testing.assert_array_equal(_pixels(resumed), _pixels(tmp_path / "straight.png"))
    code, err = run(capsys, ["--resume", str(tmp_path / "ck2.state.npz"), "--output", str(resumed)])
    assert code == 2 and "already exists; pass --overwrite" in err  # ck3.png, ck4.png are there


def _state(files, tmp_path, capsys):
    extra = ["--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1", "--keep-states", "0"]
    assert run(capsys, args_for(files, tmp_path / "o.png", *extra))[0] == 0
    return tmp_path / "ck0.state.npz"


def test_bad_states_are_refused_in_one_line(files, tmp_path, capsys):
    good = _state(files, tmp_path, capsys)
    cases = {}
    cases["truncated"] = tmp_path / "t.state.npz"
    cases["truncated"].write_bytes(good.read_bytes()[:300])
    cases["not a zip"] = tmp_path / "n.state.npz"
    cases["not a zip"].write_text("hello")
    cases["pickled"] = tmp_path / "p.state.npz"
    np.savez(cases["pickled"], meta=np.array([{"a": 1}], dtype=object))
    cases["other version"] = tmp_path / "v.state.npz"
    cases["other version"].write_bytes(good.read_bytes())
    with zipfile.ZipFile(good) as z, zipfile.ZipFile(cases["other version"], "w") as out:
        for item in z.namelist():
            data = z.read(item)
            if item == "meta.npy":
                meta = json.loads(str(np.load(z.open(item))))
                tmp = tmp_path / "meta.npy"
                np.save(tmp, np.array(json.dumps({**meta, "format": 99})))
                data = tmp.read_bytes()
            out.writestr(item, data)
    other_net = tmp_path / "other.mat"
    write_vgg19_mat(other_net, "old", seed=5)
    expected = {"truncated": "corrupt", "not a zip": "not an .npz archive", "other version": "format 99",
                "pickled": "field meta holds Python objects"}  # fmt: skip
    for case, path in cases.items():
        code, err = run(capsys, ["--resume", str(path), "--output", str(tmp_path / "r.png")])
        assert code == 2 and len(err.splitlines()) == 1 and expected[case] in err, (case, err)
        assert err.startswith(f"stylize: error: {path}: ")
    argv = ["--resume", str(good), "--output", str(tmp_path / "r.png"), "--network", str(other_net), "--overwrite"]
    code, err = run(capsys, argv)
    assert code == 2 and len(err.splitlines()) == 1 and "saved for another network file" in err, err
    code, err = run(capsys, ["--resume", str(good), "--output", str(tmp_path / "r.png"), "--iterations", "9"])
    assert code == 2 and "--iterations cannot be given with --resume" in err
    assert not (tmp_path / "r.png").exists()


def test_the_log_through_the_cli(files, tmp_path, capsys):
    log = tmp_path / "run.jsonl"
    code, err = run(capsys, args_for(files, tmp_path / "o.png", "--log", str(log), "--optimizer", "lbfgs"))
    assert code == 0, err
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines[0]["event"] == "start" and lines[0]["arguments"]["optimizer"] == "lbfgs"
    assert isinstance(lines[0]["seed"], int)  # an unseeded run gets a seed, and the log names it
    assert [x["iteration"] for x in lines if x["event"] == "losses"] == [0, 1, 2, 3]
    assert set(lines[1]["style_layers"]) == {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}


def test_dry_run_checks_and_estimates_without_computing(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(session.Run, "events", lambda self: pytest.fail("the loop ran"))
    argv = args_for(files, tmp_path / "o.png", "--dry-run", "--scales", "8", "16", "--optimizer", "lbfgs")
    assert stylize_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "estimated peak host memory" in out and re.search(r"8x6: 3 iterations, about \S+ s each", out), out
    assert os.listdir(tmp_path) == []
    code, err = run(capsys, args_for(files, tmp_path / "missing" / "o.png", "--dry-run"))
    assert code == 2 and "does not exist" in err  # the same checks as a real run


BAD = {
    "width and scales": (["--width", "10", "--scales", "8"], "--width and --scales"),
    "descending scales": (["--scales", "16", "8"], "--scales must be ascending"),
    "scale iterations alone": (["--scale-iterations", "3"], "--scale-iterations needs --scales"),
    "scale iterations count": (["--scales", "8", "16", "--scale-iterations", "3"], "--scale-iterations: 1 values"),
    "unknown optimizer": (["--optimizer", "sgd"], "--optimizer"),
    "zero history": (["--lbfgs-history", "0"], "--lbfgs-history must be positive"),
    "log is the output": (["--log", "OUT"], "would be written twice"),
    "no content": (["--content"], "--content"),
    "negative keep-states": (["--keep-states", "-1"], "--keep-states must be 0 (all) or more"),
    "log is a state": (["--checkpoint-output", "CK", "--checkpoint-iterations", "1", "--log", "ST"], "written twice"),
    "progress is a state": (
        ["--checkpoint-output", "CK", "--checkpoint-iterations", "1", "--progress-write", "ST"],
        "--progress-write",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_feature_flags_are_one_line(files, tmp_path, capsys, case):
    extra, expected = BAD[case]
    out = tmp_path / "o.png"
    names = {"OUT": out, "CK": tmp_path / "ck%s.png", "ST": tmp_path / "ck1.state.npz"}
    extra = [str(names.get(x, x)) for x in extra]
    argv = args_for(files, out, *extra) if case != "no content" else ["--styles", "s.png", "--output", str(out)]
    code, err = run(capsys, argv)
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("stylize: error: ") and expected in err, err


def test_a_state_that_cannot_be_written_is_a_warning_and_the_run_goes_on(files, tmp_path, capsys, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_states, "save_state", disk_full)
    extra = ["--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    code, err = run(capsys, args_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    warnings = [x for x in err.splitlines() if "resume state could not be written" in x]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]  # reported once
    assert sorted(os.listdir(tmp_path)) == ["ck0.png", "ck1.png", "o.png"]


def test_a_run_resumes_from_another_directory_with_the_files_it_was_started_with(files, tmp_path, capsys, monkeypatch):
    rv = tmp_path / "rv"
    rv.mkdir()
    for name in ("content.png", "style.png", "vgg.mat"):
        (rv / name).write_bytes((files / name).read_bytes())
    monkeypatch.chdir(rv)  # started with names relative to rv
    argv = ["--content", "content.png", "--styles", "style.png", "--network", "vgg.mat", "--output", "o.png"]
    argv += ["--iterations", "4", "--checkpoint-output", "ck%s.png", "--checkpoint-iterations", "1", "--seed", "3"]
    argv += ["--keep-states", "0"]
    assert run(capsys, argv)[0] == 0
    monkeypatch.chdir(tmp_path)  # resumed from the directory above, where another content.png lies
    Image.fromarray(np.zeros((16, 20, 3), np.uint8)).save(tmp_path / "content.png")
    code, err = run(capsys, ["--resume", "rv/ck1.state.npz", "--output", "r.png", "--overwrite"])
    assert code == 0, err
    np.testing.assert_array_equal(_pixels(tmp_path / "r.png"), _pixels(rv / "o.png"))
    assert not (tmp_path / "ck2.png").exists()  # its checkpoints where they were, in rv


def test_a_flag_given_with_resume_is_refused_even_at_its_default(files, tmp_path, capsys):
    state = _state(files, tmp_path, capsys)
    for flag in (["--iterations", "100"], ["--iterations", "50"], ["--pooling", "max"]):
        code, err = run(capsys, ["--resume", str(state), "--output", str(tmp_path / "r.png"), *flag])
        assert code == 2 and f"{flag[0]} cannot be given with --resume" in err, err


def test_a_resumed_dry_run_estimates_only_the_iterations_left(files, tmp_path, capsys):
    extra = ["--iterations", "8", "--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    assert run(capsys, args_for(files, tmp_path / "o.png", *extra, "--keep-states", "0"))[0] == 0
    argv = [
        "--resume",
        str(tmp_path / "ck4.state.npz"),
        "--output",
        str(tmp_path / "r.png"),
        "--dry-run",
        "--overwrite",
    ]
    assert stylize_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "8 iterations, resumed after iteration 4" in out
    (count, each), total = re.findall(r": (\d+) iterations, about (\S+) s each", out)[0], re.findall(
        r"estimated time about (\S+) s", out)[0]  # fmt: skip
    assert int(count) == 3 and float(total) == pytest.approx(3 * float(each), rel=0.01)  # iterations 5, 6, 7


# ---- what a resumed run keeps, appends to and refuses ---------------------------------------------------


def _states(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".state.npz"))


@pytest.mark.parametrize("keep, expected", [(None, [4]), ("2", [3, 4]), ("0", [0, 1, 2, 3, 4])])
def test_only_the_newest_states_are_kept(files, tmp_path, capsys, keep, expected):
    extra = ["--iterations", "6", "--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    extra += [] if keep is None else ["--keep-states", keep]
    code, err = run(capsys, args_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    assert _states(tmp_path) == [f"ck{i}.state.npz" for i in expected]
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".png")) == [*(f"ck{i}.png" for i in range(5)), "o.png"]


def test_a_resumed_run_deletes_only_the_states_it_wrote(files, tmp_path, capsys):
    extra = ["--iterations", "6", "--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    assert run(capsys, args_for(files, tmp_path / "o.png", *extra, "--keep-states", "0"))[0] == 0
    argv = ["--resume", str(tmp_path / "ck1.state.npz"), "--output", str(tmp_path / "r.png"), "--overwrite"]
    code, err = run(capsys, argv)  # writes ck2..ck4 again, keeping the newest of those
    assert code == 0, err
    assert _states(tmp_path) == ["ck0.state.npz", "ck1.state.npz", "ck4.state.npz"]


def _copied_inputs(files, directory):
    directory.mkdir()
    for name in ("content.png", "style.png", "vgg.mat"):
        (directory / name).write_bytes((files / name).read_bytes())
    return directory


@pytest.mark.parametrize("changed", ["content.png", "style.png"])
def test_a_resume_with_a_changed_input_file_is_refused(files, tmp_path, capsys, changed):
    inputs = _copied_inputs(files, tmp_path / "in")
    extra = ["--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    assert run(capsys, args_for(inputs, tmp_path / "o.png", *extra))[0] == 0
    with Image.open(inputs / changed) as img:
        pixels = np.asarray(img.convert("RGB")).copy()
    pixels[0, 0] = 255 - pixels[0, 0]  # the same size, one pixel different
    Image.fromarray(pixels).save(inputs / changed)
    code, err = run(capsys, ["--resume", str(tmp_path / "ck1.state.npz"), "--output", str(tmp_path / "r.png")])
    flag = "--content" if changed == "content.png" else "--styles"
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"{flag} {inputs / changed} is not the file the state was saved with" in err
    assert not (tmp_path / "r.png").exists()


def test_a_resumed_run_appends_to_its_own_log_and_progress_file(files, tmp_path, capsys):
    log, rows = tmp_path / "run.jsonl", tmp_path / "losses.tsv"
    extra = ["--iterations", "6", "--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    extra += ["--log", str(log), "--progress-write", str(rows), "--keep-states", "0"]
    assert run(capsys, args_for(files, tmp_path / "o.png", *extra))[0] == 0
    first_log, first_rows = log.read_text(), rows.read_text()
    argv = ["--resume", str(tmp_path / "ck2.state.npz"), "--output", str(tmp_path / "r.png"), "--keep-states", "0"]
    argv += ["--log", str(log), "--progress-write", str(rows)]
    code, err = run(capsys, [*argv, "--overwrite"])  # --overwrite for the checkpoints ck3, ck4; the log is kept
    assert code == 0, err
    assert log.read_text().startswith(first_log) and rows.read_text().startswith(first_rows)
    lines = [json.loads(x) for x in log.read_text()[len(first_log) :].splitlines()]
    assert lines[0]["event"] == "start" and lines[0]["resumed"]["after_iteration"] == 2
    assert [x["iteration"] for x in lines if x["event"] == "losses"] == [3, 4, 5, 6]
    added = rows.read_text()[len(first_rows) :].splitlines()
    assert [int(x.split("\t")[0]) for x in added] == [3, 4, 5, 6]  # no second header
    other = tmp_path / "other.jsonl"
    other.write_text("theirs\n")
    argv = ["--resume", str(tmp_path / "ck4.state.npz"), "--output", str(tmp_path / "r2.png"), "--log", str(other)]
    code, err = run(capsys, argv)  # not the saved run's log: the usual rule (ck4 is the last checkpoint)
    assert code == 2 and f"{other}" in err and "already exists" in err and other.read_text() == "theirs\n", err
