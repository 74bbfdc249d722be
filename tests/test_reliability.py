"""Nothing lost, one line each: what a user or an attacker brings (moved run folders, hand-edited states,
pipes, hostile servers, degenerate numbers, bad Python API input), each met as the README promises."""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
import zipfile

import numpy as np
import pytest
from cli_inputs import cli_argv, run_cli, write_cli_inputs
from local_http import DATA, fetch, isolate, running_server, url_of
from PIL import Image
from synthetic_vgg import sample_image

import stylize_cli
from vgg import ConfigError, Run, StyleError, random_vgg19, stylize

server = pytest.fixture(running_server)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    isolate(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("reliability"), "new")


def one_line(code, err, *parts, status=2):
    lines = [x for x in err.strip().splitlines() if not x.startswith("stylize: warning: ")]  # the synthetic file's MD5
    assert code == status and len(lines) == 1 and lines[0].startswith("stylize: error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)


def checkpointed(capsys, files, directory, iterations=6, every=2):
    """A run with checkpoints in ``directory`` (states kept), its output there too; the states."""
    extra = ["--checkpoint-output", directory / "ck%s.png", "--checkpoint-iterations", every, "--keep-states", "0"]
    code, err = run_cli(capsys, [str(a) for a in cli_argv(files, directory / "o.png", iterations, *extra, "--seed", 1)])
    assert code == 0, err
    return sorted(directory.glob("*.state.npz"))


# ---- a moved run folder --------------------------------------------------------------------------------


def test_a_moved_run_folder_resumes_from_its_new_place(files, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("content.png", "style.png"):
        shutil.copy(files / name, run_dir / name)
    extra = ["--checkpoint-output", run_dir / "ck%s.png", "--checkpoint-iterations", "2", "--keep-states", "0"]
    argv = [str(a) for a in [
        "--content", run_dir / "content.png", "--styles", run_dir / "style.png", "--network", files / "vgg.mat",
        "--output", run_dir / "o.png", "--iterations", "6", "--seed", "1", *extra,
    ]]  # fmt: skip
    assert run_cli(capsys, argv)[0] == 0
    moved = tmp_path / "renamed"
    run_dir.rename(moved)
    for name in ("ck4.png", "ck4.state.npz", "o.png"):
        (moved / name).unlink()  # the later work, to be done again from the state at 2
    code, err = run_cli(capsys, ["--resume", str(moved / "ck2.state.npz")])
    assert code == 0, err
    assert (moved / "o.png").exists() and (moved / "ck4.png").exists() and not run_dir.exists()


def test_an_input_gone_from_a_moved_run_is_named_and_can_be_given_again(files, tmp_path, capsys):
    elsewhere = tmp_path / "photos"
    elsewhere.mkdir()
    shutil.copy(files / "content.png", elsewhere / "c.png")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    extra = ["--checkpoint-output", run_dir / "ck%s.png", "--checkpoint-iterations", "2", "--keep-states", "0"]
    argv = cli_argv(files, run_dir / "o.png", 6, *extra)
    argv[argv.index("--content") + 1] = str(elsewhere / "c.png")
    assert run_cli(capsys, [str(a) for a in argv])[0] == 0
    (elsewhere / "c.png").rename(tmp_path / "kept.png")
    state = str(run_dir / "ck2.state.npz")
    code, err = run_cli(capsys, ["--resume", state, "--overwrite"])
    one_line(code, err, "--content", "is gone; give --content again")
    code, err = run_cli(capsys, ["--resume", state, "--overwrite", "--content", str(tmp_path / "kept.png")])
    assert code == 0, err


# ---- hand-edited and corrupt states --------------------------------------------------------------------


def _edited(state, out, **changes):
    """A copy of the state file with some arrays replaced (None: removed)."""
    with np.load(state, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(out, **arrays)
    return out


def _meta(state):
    with np.load(state, allow_pickle=False) as npz:
        return json.loads(str(npz["meta"]))


EDITS = {
    "iteration past the end": ({"iteration": np.array(50)}, "field iteration is 50"),
    "iteration no checkpoint": ({"iteration": np.array(3)}, "field iteration is 3"),
    "iteration a float": ({"iteration": np.array(2.5)}, "field iteration is () float64"),
    "stage": ({"stage": np.array(3)}, "field stage is 3"),
    "image shape": ({"image": np.zeros((1, 4, 4, 3), np.float32)}, "field image has shape (1, 4, 4, 3)"),
    "image not finite": ({"image": np.full((1, 16, 20, 3), np.nan, np.float32)}, "field image holds NaN"),
    "image text": ({"image": np.array("x")}, "field image is () <U1"),
    "settings not JSON": ({"settings": np.array("{not json")}, "field settings is not a JSON object"),
    "meta not JSON": ({"meta": np.array("[1, 2")}, "field meta is not a JSON object"),
    "optimizer shape": ({"optimizer/m.0": np.zeros((3,), np.float32)}, "field optimizer/*: Adam: 'm.0' is (3,)"),
    "optimizer missing": ({"optimizer/v.0": None}, "field optimizer/*: Adam: keys differ"),
    "optimizer power": ({"optimizer/beta1_power": np.array(7.0, np.float32)}, "'beta1_power' is 7.0"),
    "optimizer NaN": ({"optimizer/m.0": np.full((1, 16, 20, 3), np.nan, np.float32)}, "'m.0' holds NaN or infinity"),
    "best shape": ({"best": np.zeros((1, 2, 2, 3), np.float32)}, "field best has shape (1, 2, 2, 3)"),
    "no image": ({"image": None}, "no field image"),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_a_hand_edited_state_is_one_line_naming_the_state_and_the_field(files, tmp_path, capsys, case):
    states = checkpointed(capsys, files, tmp_path)
    changes, expected = EDITS[case]
    edited = _edited(tmp_path / "ck2.state.npz", tmp_path / "edited.state.npz", **changes)
    assert [s.name for s in states] == ["ck0.state.npz", "ck2.state.npz", "ck4.state.npz"]
    code, err = run_cli(capsys, ["--resume", str(edited), "--output", str(tmp_path / "r.png"), "--overwrite"])
    one_line(code, err, str(edited), expected)
    assert not (tmp_path / "r.png").exists()


def test_a_header_that_claims_terabytes_is_refused_before_anything_is_allocated(files, tmp_path, capsys):
    checkpointed(capsys, files, tmp_path)
    edited = tmp_path / "huge.state.npz"
    with zipfile.ZipFile(tmp_path / "ck2.state.npz") as src, zipfile.ZipFile(edited, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "image.npy":  # the same data after a header that says 10^13 float32 values
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                              "shape": (1, 10**6, 10**7, 3)})  # fmt: skip
                data = header.getvalue() + data[-(16 * 20 * 3 * 4) :]
            out.writestr(item, data)
    code, err = run_cli(capsys, ["--resume", str(edited), "--output", str(tmp_path / "r.png"), "--overwrite"])
    one_line(code, err, str(edited), "field image claims (1, 1000000, 10000000, 3)")


def test_a_state_saved_by_the_python_api_says_so(files, tmp_path, capsys):
    checkpointed(capsys, files, tmp_path)
    meta = _meta(tmp_path / "ck2.state.npz")
    meta.pop("cli")
    edited = _edited(tmp_path / "ck2.state.npz", tmp_path / "api.state.npz", meta=np.array(json.dumps(meta)))
    code, err = run_cli(capsys, ["--resume", str(edited), "--output", str(tmp_path / "r.png")])
    one_line(code, err, "saved by the Python API")


def test_a_changed_input_is_caught_on_resume_even_deep_inside_a_large_file(files, tmp_path, capsys):
    big = tmp_path / "big.bmp"  # 1500x1000 BMP: 4.5 MB, so the middle is neither the first nor the last MiB
    Image.fromarray(sample_image(1000, 1500, seed=4).astype(np.uint8)).save(big)
    extra = ["--checkpoint-output", tmp_path / "ck%s.png", "--checkpoint-iterations", "1", "--width", "30"]
    argv = [str(a) for a in cli_argv(files, tmp_path / "o.png", 3, *extra)]
    argv[argv.index("--content") + 1] = str(big)
    assert run_cli(capsys, argv)[0] == 0
    with Image.open(big) as img:
        pixels = np.asarray(img).copy()
    pixels[500, 750] = 255 - pixels[500, 750]
    Image.fromarray(pixels).save(big)
    code, err = run_cli(capsys, ["--resume", str(tmp_path / "ck1.state.npz"), "--output", str(tmp_path / "r.png")])
    one_line(code, err, f"--content {big} is not the file the state was saved with")


# ---- checkpoint patterns -------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["ck%x.png", "ck%e.png", "ck%c.png", "ck{:x}.png", "ck%+d.png", "ck{:/>5}.png",
                                     "ck{:a>4}.png", "ck%o.png"])  # fmt: skip
def test_a_pattern_that_does_not_write_the_iteration_in_decimal_is_refused(files, tmp_path, capsys, pattern):
    extra = ["--checkpoint-output", str(tmp_path / pattern), "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, [str(a) for a in cli_argv(files, tmp_path / "o.png", 3, *extra)])
    one_line(code, err, "--checkpoint-output")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("pattern, existing", [("ck%.3d.png", "ck004.png"), ("ck%i.png", "ck4.png"),
                                               ("ck%u.png", "ck4.png"), ("ck{:03}.png", "ck004.png")])  # fmt: skip
def test_every_allowed_conversion_finds_its_existing_files(files, tmp_path, capsys, pattern, existing):
    (tmp_path / existing).write_bytes(b"someone's")
    extra = ["--checkpoint-output", str(tmp_path / pattern), "--checkpoint-iterations", "2"]
    code, err = run_cli(capsys, [str(a) for a in cli_argv(files, tmp_path / "o.png", 6, *extra)])
    one_line(code, err, existing, "already exists")
    assert (tmp_path / existing).read_bytes() == b"someone's"


def test_the_last_iteration_is_never_taken_for_a_checkpoint(files, tmp_path, capsys):
    """Iteration 5 of 6 goes to --output: files named like its checkpoint are no one's business."""
    for name in ("ck5.png", "ck5.state.npz"):
        (tmp_path / name).write_bytes(b"someone's")
    extra = ["--checkpoint-output", str(tmp_path / "ck%s.png"), "--checkpoint-iterations", "1"]
    extra += ["--log", str(tmp_path / "ck5.png.log")]
    code, err = run_cli(capsys, [str(a) for a in cli_argv(files, tmp_path / "o.png", 6, *extra)])
    assert code == 0, err
    assert (tmp_path / "ck5.png").read_bytes() == b"someone's" and (tmp_path / "ck4.png").exists()
    assert (tmp_path / "ck5.state.npz").read_bytes() == b"someone's"


# ---- numbers that pass the range checks but not float32 ------------------------------------------------

DEGENERATE = {
    "layer exponent overflows": (["--style-layer-weight-exp", "1e100"], "--style-layer-weight-exp"),
    "blend weights overflow": (["--style-blend-weights", "1e308", "1e308"], "--style-blend-weights"),
    "beta1 rounds to 1": (["--beta1", "0.99999999"], "rounds to 1 in float32"),
    "beta2 rounds to 1": (["--beta2", "0.999999999"], "rounds to 1 in float32"),
    "epsilon 0": (["--epsilon", "0"], "--epsilon must be at least"),
    "learning rate underflows": (["--learning-rate", "1e-50"], "underflows float32"),
    "weight past float32": (["--content-weight", "1e39"], "too large for float32"),
    "learning rate past float32": (["--learning-rate", "1e39"], "too large for float32"),
    "empty network": (["--network", ""], "argument --network: expected a path, got an empty string"),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_numbers_are_refused_in_one_line(files, tmp_path, capsys, case):
    extra, expected = DEGENERATE[case]
    argv = cli_argv(files, tmp_path / "o.png", 3, *extra)
    if case == "blend weights overflow":
        argv += ["--styles", str(files / "style.png"), str(files / "style.png")]
    code, err = run_cli(capsys, argv)
    one_line(code, err, expected)


# ---- pipes and other files that are not files ----------------------------------------------------------


def within(seconds, call):
    """call()'s result, or a failure if it has not returned within ``seconds`` (a thread that would hang)."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return result["value"]


@pytest.mark.parametrize("flag", ["--log", "--progress-write"])
def test_a_pipe_named_as_an_output_is_refused_not_waited_on(files, tmp_path, capsys, flag):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = within(30, lambda: stylize_cli.main(cli_argv(files, tmp_path / "o.png", 2, flag, fifo)))
    one_line(code, capsys.readouterr().err, "not a regular file")


def test_a_pipe_given_as_the_network_is_named_as_a_pipe(files, tmp_path, capsys):
    fifo = tmp_path / "net.mat"
    os.mkfifo(fifo)
    code, err = within(30, lambda: run_cli(capsys, cli_argv(files, tmp_path / "o.png", 2, "--network", fifo)))
    one_line(code, err, "is a pipe")


def test_the_download_refuses_a_pipe_at_its_output(tmp_path, capsys):
    fifo = tmp_path / "vgg.mat"
    os.mkfifo(fifo)
    code, err = within(30, lambda: fetch(capsys, "http://127.0.0.1:9/x.mat", fifo))
    assert code == 2 and len(err.splitlines()) == 1 and "not a regular file" in err, err


def test_an_output_format_with_fixed_sizes_is_refused_before_the_run(files, tmp_path, capsys):
    for name, width in (("o.ico", "300"), ("o.icns", "20")):
        code, err = run_cli(capsys, cli_argv(files, tmp_path / name, 2, "--width", width))
        one_line(code, err, name, "keeps only its own fixed sizes")
    code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.jpg", 2, "--width", "66000"))
    one_line(code, err, "at most 65500 pixels a side", "66000x52800")


# ---- a hostile server ----------------------------------------------------------------------------------


def test_a_captive_portal_answering_a_resume_never_destroys_the_partial(server, tmp_path, capsys):
    out = tmp_path / "vgg.mat"
    part = tmp_path / "vgg.mat.part"
    part.write_bytes(DATA[:100_000])
    server.behaviour.portal_for_ranges = True
    code, err = fetch(capsys, url_of(server), out)
    assert code == 1 and "text/html page instead of the file" in err and f"{part} is kept" in err, err
    assert part.read_bytes() == DATA[:100_000] and not out.exists()
    server.behaviour.portal_for_ranges = False  # back on a real network: the same command finishes
    from local_http import SHA

    code, err = fetch(capsys, url_of(server), out, "--sha256", SHA)
    assert code == 0 and out.read_bytes() == DATA, err


def test_a_server_that_sends_another_whole_body_keeps_the_partial_until_that_one_checks(server, tmp_path, capsys):
    part = tmp_path / "vgg.mat.part"
    part.write_bytes(DATA[:100_000])
    server.behaviour.ranges_supported = False
    server.behaviour.data = b"x" * 5000  # not the file: its hash will not match
    code, err = fetch(capsys, url_of(server), tmp_path / "vgg.mat", "--sha256", "0" * 64)
    assert code == 1 and f"{part} is kept" in err, err
    assert part.read_bytes() == DATA[:100_000]


def test_a_redirect_loop_is_one_line(server, tmp_path, capsys):
    server.behaviour.redirect_loop = True
    code, err = fetch(capsys, url_of(server), tmp_path / "vgg.mat")
    assert code == 1 and len(err.splitlines()) == 1 and "redirect" in err, err


@pytest.mark.parametrize("url", ["http://127.0.0.1/a\nb.mat", "http://127.0.0.1/a b.mat", "http://127.0.0.1/\x00"])
def test_a_url_with_control_characters_is_a_bad_flag(capsys, tmp_path, url):
    code, err = fetch(capsys, url, tmp_path / "vgg.mat")
    assert code == 2 and len(err.splitlines()) == 1 and "--url" in err, err


# ---- the Python API keeps its promise ------------------------------------------------------------------


@pytest.fixture(scope="module")
def net():
    return random_vgg19(seed=0, channel_scale=1 / 16)


IMAGE = np.full((12, 14, 3), 100.0, np.float32)


@pytest.mark.parametrize(
    "settings",
    [{"iterations": "5"}, {"iterations": 2.5}, {"seed": -1}, {"content_weight": float("nan")}, {"scales": [8, "16"]},
     {"preserve_colors": "yes"}, {"learning_rate": "1"}, {"style_blend_weights": 1.0}],
)  # fmt: skip
def test_bad_settings_are_config_errors_at_the_call(net, settings):
    for call in (lambda: Run(net, IMAGE, [IMAGE], **settings), lambda: stylize(net, IMAGE, [IMAGE], **settings)):
        with pytest.raises(ConfigError, match=next(iter(settings))):
            call()


@pytest.mark.parametrize(
    "image, expected",
    [(np.zeros((12, 14)), "shape"), (np.zeros((1, 12, 14, 3)), "shape"), (np.zeros((12, 14, 3), np.int8), "dtype"),
     (np.full((12, 14, 3), np.nan), "NaN"), ([[1, 2, 3]], "numpy array")],
)  # fmt: skip
def test_images_of_the_wrong_shape_or_type_are_config_errors(net, image, expected):
    for content, styles in ((image, [IMAGE]), (IMAGE, [image])):
        with pytest.raises(ConfigError, match=expected):
            Run(net, content, styles)
    with pytest.raises(ConfigError, match=expected):
        Run(net, IMAGE, [IMAGE], initial=image)


def test_state_before_any_checkpoint_says_so(net):
    run = Run(net, IMAGE, [IMAGE], iterations=2)
    with pytest.raises(StyleError, match="no checkpoint yet"):
        run.state()


# ---- what the memory refusal advises -------------------------------------------------------------------


def test_the_refusal_names_an_enlarged_style_and_no_width_the_network_refuses(files, tmp_path, capsys, monkeypatch):
    from vgg.style import memory

    monkeypatch.setattr(memory, "available_bytes", lambda backend: 400 * 2**20)
    code, err = run_cli(capsys, cli_argv(files, tmp_path / "o.png", 2, "--style-scales", "150"))  # 3000 wide
    one_line(code, err, "most of it the style targets of", "a smaller --style-scales", "(now 150)")
    advised = [int(w) for w in __import__("re").findall(r"--width that fits is (\d+)", err)]
    assert all(w >= memory.smallest_side() for w in advised), err


def test_the_refusal_names_the_lbfgs_history_and_the_history_that_fits(files, tmp_path, capsys, monkeypatch):
    from vgg.style import memory

    need = memory.estimate_peak_bytes((16, 20), [(16, 20)], optimizer="lbfgs", history_size=10**6)
    monkeypatch.setattr(memory, "available_bytes", lambda backend: need // 3)
    argv = cli_argv(files, tmp_path / "o.png", 2, "--optimizer", "lbfgs", "--lbfgs-history", 10**6)
    code, err = run_cli(capsys, argv)
    one_line(code, err, "most of it the L-BFGS history", "--lbfgs-history ", "(now 1000000)")
