"""The CLI against everyday photos and hostile input: one line naming the file or flag, exit 2, nothing lost."""

from __future__ import annotations

import numpy as np
import pytest
from cli_inputs import cli_argv, run_cli, write_cli_inputs
from PIL import Image
from synthetic_vgg import sample_image, write_vgg19_mat

from vgg.cli import checks, invocation, session
from vgg.cli import flags as arguments
from vgg.style import memory, plans
from vgg.style import pixels as images


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("safety"), "old")


def argv_for(files, out, *extra):
    return cli_argv(files, out, 2, "--progress", "never", *extra)


def one_line_error(code, err, *parts):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("stylize: error: "), err
    for part in parts:
        assert part in err, (part, err)


# ---- the network file ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 20, 127])
def test_network_shorter_than_a_mat_header_is_one_line(files, tmp_path, capsys, size):
    net = tmp_path / "short.mat"
    net.write_bytes((files / "vgg.mat").read_bytes()[:size])
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--network", net))
    one_line_error(code, err, "short.mat", "128-byte header" if size else "is empty (0 bytes)")


def test_network_with_nan_weights_names_the_file_and_layer(files, tmp_path, capsys):
    net = tmp_path / "nan.mat"
    write_vgg19_mat(net, "new", nan_layer="conv3_2")
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--network", net))
    one_line_error(code, err, "nan.mat", "conv3_2", "NaN or infinite")
    assert not (tmp_path / "o.png").exists()


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if the network is loaded: every check here must come before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the network was loaded")

    monkeypatch.setattr(session, "load_network", refuse)


# ---- bad values, before the network loads -------------------------------------------------

FLOAT_FLAGS = [
    "--content-weight",
    "--content-weight-blend",
    "--style-weight",
    "--style-layer-weight-exp",
    "--style-blend-weights",
    "--tv-weight",
    "--learning-rate",
    "--beta1",
    "--beta2",
    "--epsilon",
    "--initial-noiseblend",
    "--style-scales",
]


def test_every_float_flag_is_checked_for_finite_values():
    parser = arguments.build_parser()
    floats = {a.option_strings[0] for a in parser._actions if a.type is arguments.finite_float}
    assert set(FLOAT_FLAGS) <= floats
    assert not [a.dest for a in parser._actions if a.type is float]  # none left unchecked


@pytest.mark.parametrize("flag", FLOAT_FLAGS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_nan_and_infinity_are_refused_for_every_float_flag(files, tmp_path, capsys, no_network, flag, value):
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", f"{flag}={value}"))
    one_line_error(code, err, flag, "finite")


@pytest.mark.parametrize("seed", ["-1", str(2**32), str(10**30)])
def test_seed_out_of_range_is_refused(files, tmp_path, capsys, no_network, seed):
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--seed", seed))
    one_line_error(code, err, "--seed", str(2**32 - 1))


def test_seeds_at_the_ends_of_the_range_are_taken():
    for seed in (0, 2**32 - 1):
        parsed = arguments.parse(["--content", "c", "--styles", "s", "--output", "o.png", "--seed", str(seed)])
        assert parsed.values["seed"] == seed


@pytest.mark.parametrize("size, extra", [((1, 20), []), ((16, 1), []), ((16, 20), ["--width", "1"])])
def test_images_smaller_than_the_network_takes_are_refused(files, tmp_path, capsys, no_network, size, extra):
    content = tmp_path / "thin.png"
    Image.fromarray(sample_image(*size).astype(np.uint8)).save(content)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--content", content, *extra))
    one_line_error(code, err, "--content", "thin.png", "2x2")
    assert memory.smallest_side() == 2


def test_a_one_pixel_style_is_fine(files, tmp_path, capsys):
    style = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (200, 30, 40)).save(style)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--styles", style))
    assert code == 0, err


# ---- the memory guard ---------------------------------------------------------------------


def test_a_run_that_does_not_fit_is_refused_with_the_width_that_fits(files, tmp_path, capsys, monkeypatch):
    content = tmp_path / "photo.png"
    Image.fromarray(sample_image(300, 400).astype(np.uint8)).save(content)
    available = memory.estimate_peak_bytes((150, 200), [(150, 200)])  # room for about half the width
    monkeypatch.setattr(memory, "available_bytes", lambda backend: available)
    loaded = []
    monkeypatch.setattr(session, "load_network", lambda *a, **k: loaded.append(1) or pytest.fail("loaded"))
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--content", content))
    one_line_error(code, err, "400x300", "host memory", memory.format_bytes(available), "--width")
    width = int(err.split("--width that fits is ")[1].split()[0])
    assert 190 <= width < 400 and not loaded
    hw = (width * 3 // 4, width)
    plans.choose(hw, [hw], available)  # the width it names fits: the whole graph or a plan (NoPlanFitsError if not)
    wider = (hw[0] + 30, hw[1] + 40)
    with pytest.raises(plans.NoPlanFitsError):
        plans.choose(wider, [wider], available)  # and it is about the largest that does
    monkeypatch.undo()
    monkeypatch.setattr(memory, "available_bytes", lambda backend: available)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--content", content, "--width", str(width)))
    assert code == 0, err  # the width it names does fit


def test_the_guard_counts_the_styles_at_their_scale(files, tmp_path, capsys, monkeypatch):
    available = memory.estimate_peak_bytes((16, 20), [(16, 20)]) * 2
    monkeypatch.setattr(memory, "available_bytes", lambda backend: available)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--style-scales", "200"))
    one_line_error(code, err, "needs about", "--width", "a smaller --style-scales for", "(now 200)")


def test_a_coarse_to_fine_run_that_does_not_fit_names_its_last_scale(files, tmp_path, capsys, monkeypatch):
    available = memory.estimate_peak_bytes((96, 120), [(96, 120)])
    monkeypatch.setattr(memory, "available_bytes", lambda backend: available)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--scales", "20", "200"))
    one_line_error(code, err, "200x160", "the largest last --scales width that fits is")
    assert "--style-scales" not in err  # the styles are at scale 1
    width = int(err.split("width that fits is ")[1].split()[0])
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--scales", "20", str(width)))
    assert code == 0, err  # the width it names does fit


@pytest.mark.parametrize(
    "extra, advice", [(["--width", "4000"], "--width"), (["--style-scales", "400"], "a smaller --style-scales")]
)
def test_the_guard_runs_before_any_image_is_enlarged(files, tmp_path, capsys, monkeypatch, extra, advice):
    available = memory.estimate_peak_bytes((16, 20), [(16, 20)]) * 2
    monkeypatch.setattr(memory, "available_bytes", lambda backend: available)
    sizes = []
    resize = images.resize
    monkeypatch.setattr(images, "resize", lambda image, size: sizes.append(size) or resize(image, size))
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    one_line_error(code, err, "needs about", advice)
    assert all(h * w <= 24 * 24 for h, w in sizes), sizes  # nothing larger than the inputs was made


def test_out_of_memory_while_reading_says_what_even_without_a_message(files, tmp_path, capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError()  # what numpy's failed allocations under `ulimit -v` can raise

    monkeypatch.setattr(session, "load_image", no_memory)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png"))
    one_line_error(code, err, "out of memory while reading the inputs (MemoryError)")


@pytest.mark.parametrize(
    "extra, flag", [(["--width", "2147483648"], "--width"), (["--style-scales", "1e9"], "--style-scales")]
)
def test_sizes_beyond_what_pillow_makes_are_one_line(files, tmp_path, capsys, no_network, extra, flag):
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    one_line_error(code, err, flag, "at most")


def test_out_of_memory_names_the_style_that_was_too_big(files, tmp_path, capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.00 TiB")

    monkeypatch.setattr(session, "write_images", no_memory)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--style-scales", "20"))
    lines = [x for x in err.splitlines() if "warning:" not in x]
    assert code == 2 and len(lines) == 1, err
    assert "style.png at scale 20" in lines[0] and "400x400" in lines[0] and "--style-scales" in lines[0]


# ---- checkpoint names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, names",
    [
        ("ck%s.png", ["ck0.png", "ck2.png"]),
        ("ck_%05d.png", ["ck_00000.png", "ck_00002.png"]),
        ("ck_{:05}.png", ["ck_00000.png", "ck_00002.png"]),
        ("ck_{}.png", ["ck_0.png", "ck_2.png"]),
    ],
)
def test_the_later_originals_checkpoint_names_work(files, tmp_path, capsys, pattern, names):
    extra = ["--iterations", "4", "--checkpoint-output", tmp_path / pattern, "--checkpoint-iterations", "2"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    state = names[-1].replace(".png", ".state.npz")  # the resume state beside the newest checkpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names, state, "o.png"])


@pytest.mark.parametrize("directory", ["50%done", "{x}", "a%sb{}"])
def test_a_directory_that_looks_like_a_pattern_is_taken_as_it_is(files, tmp_path, capsys, directory):
    (tmp_path / directory).mkdir()
    pattern = tmp_path / directory / "ck%s.png"
    extra = ["--iterations", "3", "--checkpoint-output", pattern, "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / directory).iterdir()) == ["ck0.png", "ck1.png", "ck1.state.npz"]


@pytest.mark.parametrize("pattern", ["ck.png", "ck%d%d.png", "ck{}{}.png", "ck%s/x.png", "ck%.png", "ck{x}.png"])
def test_bad_checkpoint_patterns_are_one_line(files, tmp_path, capsys, no_network, pattern):
    extra = ["--checkpoint-output", tmp_path / pattern, "--checkpoint-iterations", "1"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    one_line_error(code, err, "--checkpoint-output")


def test_checking_checkpoint_names_does_not_grow_with_the_iterations(files, tmp_path, no_network):
    import tracemalloc

    argv = argv_for(files, tmp_path / "o.png", "--iterations", str(10**8))
    argv += ["--checkpoint-output", tmp_path / "ck%s.png", "--checkpoint-iterations", "1"]
    record, _ = invocation.build(arguments.parse(argv))
    tracemalloc.start()
    try:
        checks.check_all(record)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # a list of 10^8 names would be gigabytes


def test_existing_checkpoints_are_found_by_name_without_listing_every_iteration(files, tmp_path, capsys, no_network):
    (tmp_path / "ck_00003.png").write_bytes(b"not a checkpoint iteration")  # 3 % 2 != 0
    (tmp_path / "ck_0004.png").write_bytes(b"not this pattern's padding")
    extra = ["--iterations", str(10**8), "--checkpoint-output", tmp_path / "ck_%05d.png"]
    extra += ["--checkpoint-iterations", "2", "--output", tmp_path / "ck_00006.png"]
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra))
    one_line_error(code, err, "ck_00006.png", "is also the checkpoint images file of iteration 6")
    (tmp_path / "ck_00004.png").write_bytes(b"an earlier run's checkpoint")
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", *extra[:-2]))
    one_line_error(code, err, "ck_00004.png", "already exists; pass --overwrite")


# ---- photos as they come, through the CLI ---------------------------------------------------


def test_a_portrait_photo_comes_out_upright(files, tmp_path, capsys):
    photo = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown turned 90 degrees clockwise
    Image.fromarray(sample_image(16, 20).astype(np.uint8)).save(photo, exif=exif)
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--content", photo))
    assert code == 0, err
    with Image.open(tmp_path / "o.png") as out:
        assert out.size == (16, 20)


def test_a_huge_jpeg_is_read_at_reduced_scale_for_a_small_width_and_refused_otherwise(
    files, tmp_path, capsys, monkeypatch
):
    photo = tmp_path / "huge.jpg"
    Image.fromarray(sample_image(64, 80).astype(np.uint8)).save(photo)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 5120 pixels: "huge"
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--content", photo))
    one_line_error(code, err, "huge.jpg", "5,120 pixels", "2,000", "--width")
    assert "corrupt" not in err and "DecompressionBomb" not in err
    code, err = run_cli(capsys, argv_for(files, tmp_path / "o.png", "--content", photo, "--width", "20"))
    assert code == 0, err
    with Image.open(tmp_path / "o.png") as out:
        assert out.size == (20, 16)
