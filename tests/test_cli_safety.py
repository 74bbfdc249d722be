"""The CLI against everyday photos and hostile input: one line naming the file or flag, exit 2, nothing lost."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from synthetic_vgg import sample_image, write_vgg19_mat

import stylize_cli


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("safety")
    write_vgg19_mat(root / "vgg.mat", "old")
    Image.fromarray(sample_image(16, 20, seed=1).astype(np.uint8)).save(root / "content.png")
    Image.fromarray(sample_image(24, 24, seed=2).astype(np.uint8)).save(root / "style.png")
    return root


def argv_for(files, out, *extra):
    base = ["--content", str(files / "content.png"), "--styles", str(files / "style.png"), "--output", str(out)]
    return [*base, "--network", str(files / "vgg.mat"), "--iterations", "2", "--progress", "never", *extra]


def run(capsys, argv):
    code = stylize_cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err


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
    code, err = run(capsys, argv_for(files, tmp_path / "o.png", "--network", net))
    one_line_error(code, err, "short.mat", "128-byte header")


def test_network_with_nan_weights_names_the_file_and_layer(files, tmp_path, capsys):
    net = tmp_path / "nan.mat"
    write_vgg19_mat(net, "new", nan_layer="conv3_2")
    code, err = run(capsys, argv_for(files, tmp_path / "o.png", "--network", net))
    one_line_error(code, err, "nan.mat", "conv3_2", "NaN or infinite")
    assert not (tmp_path / "o.png").exists()
