"""The same weights in Keras's .h5 (as Keras 1 and 2 write it) and Oxford's .caffemodel (both layer formats,
packed and not) as in MatConvNet's .mat (both layouts): the same network, features, losses and CLI run."""

from __future__ import annotations

import hashlib
import os
import shutil
import tracemalloc
import warnings

import numpy as np
import pytest
from PIL import Image
from synthetic_caffe import write_vgg19_caffemodel
from synthetic_keras import write_vgg19_h5
from synthetic_vgg import random_weights, sample_image, write_vgg19_mat

import minigrad as mg
import stylize_cli
from vgg.net import releases
from vgg.net.layers import CONV_LAYERS, conv_shapes
from vgg.net.load import load_network, read_network
from vgg.style import losses
from vgg.style import pixels as images

MAT, KERAS, KERAS_TOP, CAFFE = releases.DEFAULT_NAMES
# name: (file name, writer of the same weights into it)
FILES = {
    "mat-new": (MAT, lambda p, w: write_vgg19_mat(p, "new", weights=w, published_mean=True)),
    "mat-old": (MAT, lambda p, w: write_vgg19_mat(p, "old", weights=w, published_mean=True)),
    "keras1": (KERAS, lambda p, w: write_vgg19_h5(p, w, keras=1)),
    "keras1-top": (KERAS_TOP, lambda p, w: write_vgg19_h5(p, w, keras=1, top=True)),
    "keras2": (KERAS, lambda p, w: write_vgg19_h5(p, w, keras=2)),
    "keras2-top": (KERAS_TOP, lambda p, w: write_vgg19_h5(p, w, keras=2, top=True)),
    "keras2-split": (KERAS, lambda p, w: write_vgg19_h5(p, w, keras=2, split=True)),
    "keras2-model": (KERAS_TOP, lambda p, w: write_vgg19_h5(p, w, keras=2, top=True, whole_model=True)),
    "caffe-v1": (CAFFE, lambda p, w: write_vgg19_caffemodel(p, w, "v1", packed=True)),
    "caffe-v1-unpacked": (CAFFE, lambda p, w: write_vgg19_caffemodel(p, w, "v1", packed=False)),
    "caffe-v2": (CAFFE, lambda p, w: write_vgg19_caffemodel(p, w, "v2", packed=True)),
    "caffe-v2-unpacked": (CAFFE, lambda p, w: write_vgg19_caffemodel(p, w, "v2", packed=False)),
}
OTHERS = [name for name in FILES if name != "mat-new"]


def source(name: str) -> str:
    """The format's key (NetworkWeights.format, the download --source): keras2-top -> keras."""
    return name.split("-", maxsplit=1)[0].rstrip("12")


@pytest.fixture(scope="module")
def weights():
    return random_weights(seed=7)


@pytest.fixture(scope="module")
def files(tmp_path_factory, weights):
    """{name: path}, each file in a directory of its own under its real file name."""
    root, paths = tmp_path_factory.mktemp("formats"), {}
    for name, (filename, write) in FILES.items():
        (root / name).mkdir()
        paths[name] = str(root / name / filename)
        write(paths[name], weights)
    return paths


@pytest.mark.parametrize("name", OTHERS)
def test_every_file_gives_the_networks_weights_as_the_mat_reader_does(files, weights, name):
    mat, other = read_network(files["mat-new"]), read_network(files[name])
    assert other.format == source(name) and set(other.params) == set(CONV_LAYERS)
    for layer in CONV_LAYERS:
        for got, want, written in zip(other.params[layer], mat.params[layer], weights[layer]):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, written)
            assert got.dtype == np.float32 and got.flags.c_contiguous
    assert other.mean_pixel.dtype == np.float32
    np.testing.assert_allclose(other.mean_pixel, mat.mean_pixel, rtol=1e-6)  # the old layout: a mean of 224x224


def test_the_weights_are_not_symmetric_so_a_wrong_transpose_would_show(weights):
    kernel = weights["conv1_1"][0]
    assert not np.array_equal(kernel, kernel.transpose(1, 0, 2, 3))
    assert not np.array_equal(kernel, kernel[:, :, ::-1, :])


def _objective(net):
    content, style = sample_image(20, 24, seed=1), sample_image(16, 16, seed=2)
    pre = [images.preprocess(image, net.mean_pixel)[None] for image in (content, style)]
    return losses.Objective(net, pre[0], [pre[1]], [1.0]), mg.Tensor(pre[0] + 3.0)


@pytest.mark.parametrize("name", OTHERS)
def test_features_and_losses_are_the_same(files, name):
    nets = [load_network(files[n], check_release=False) for n in ("mat-new", name)]
    results = []
    for net in nets:
        objective, image = _objective(net)
        with mg.no_grad():
            features = net.forward(image, CONV_LAYERS[:12])
            results.append(({k: v.data for k, v in features.items()}, objective(image).values()))
    (want_features, want_losses), (got_features, got_losses) = results
    # the old .mat's mean pixel is a float32 mean over a 224x224 image: equal to rounding, which the small
    # content loss (a difference of features) magnifies
    rel = 1e-4 if name == "mat-old" else 1e-6
    for layer, value in want_features.items():
        np.testing.assert_allclose(got_features[layer], value, rtol=rel, atol=1e-3)
    for term, value in want_losses.items():
        assert got_losses[term] == pytest.approx(value, rel=rel), term


@pytest.fixture(scope="module")
def images_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    Image.fromarray(sample_image(16, 20, seed=1).astype(np.uint8)).save(root / "content.png")
    Image.fromarray(sample_image(16, 16, seed=2).astype(np.uint8)).save(root / "style.png")
    return root


def _cli_run(capsys, monkeypatch, network: str, images: str, out: str) -> tuple[np.ndarray, np.ndarray]:
    """stylize_cli for 3 iterations in the network's directory, by its bare file name: (losses, image)."""
    monkeypatch.chdir(os.path.dirname(network))
    argv = ["--content", f"{images}/content.png", "--styles", f"{images}/style.png", "--output", f"{out}.png"]
    argv += ["--network", os.path.basename(network), "--iterations", "3", "--seed", "1"]
    code = stylize_cli.main([*argv, "--progress-write", f"{out}.tsv"])
    assert code == 0, capsys.readouterr().err
    rows = np.loadtxt(f"{out}.tsv", skiprows=1)
    return rows, np.asarray(Image.open(f"{out}.png"), dtype=np.int16)


@pytest.mark.parametrize("name", ["keras1", "keras2-top", "caffe-v1", "caffe-v2-unpacked", "mat-old"])
def test_a_three_iteration_cli_run_is_the_same(files, images_dir, tmp_path, capsys, monkeypatch, name):
    want = _cli_run(capsys, monkeypatch, files["mat-new"], str(images_dir), str(tmp_path / "mat"))
    got = _cli_run(capsys, monkeypatch, files[name], str(images_dir), str(tmp_path / name))
    assert got[0].shape == want[0].shape == (4, 5)  # the initial image's row and one per iteration
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    assert np.abs(got[1] - want[1]).max() <= 1  # 8-bit pixels of float32 images equal to rounding


@pytest.mark.parametrize("name", ["keras1", "caffe-v1", "mat-new"])
def test_the_content_decides_not_the_extension(files, tmp_path, name):
    for extension in (".mat", ".h5", ".caffemodel", ".pth"):
        shutil.copy(files[name], tmp_path / f"weights{extension}")
        assert read_network(tmp_path / f"weights{extension}").format == source(name)


BIG_CHANNELS = (8, 16, 16, 32, 32)


@pytest.mark.parametrize("name", ["keras1-top", "keras2-top", "caffe-v1", "caffe-v2-unpacked"])
def test_the_fully_connected_weights_are_never_held(tmp_path, name):
    """A file whose fc layers are 40x its conv layers: what reading it allocates stays near the conv weights."""
    weights = random_weights(BIG_CHANNELS, seed=3, fc=(1024, 1000))
    path = tmp_path / FILES[name][0]
    FILES[name][1](path, weights)
    conv = sum(weights[n][0].nbytes + weights[n][1].nbytes for n in conv_shapes(BIG_CHANNELS))
    fc = sum(weights[n][0].nbytes for n in ("fc6", "fc7", "fc8"))
    assert fc > 40 * conv
    tracemalloc.start()
    try:
        read_network(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * conv + 2**20, (peak, conv, fc)


@pytest.mark.parametrize("name", ["keras1", "keras2-top", "caffe-v2"])
def test_an_unknown_file_is_warned_about_with_its_own_formats_releases(files, name, monkeypatch):
    with pytest.warns(UserWarning) as record:
        load_network(files[name])
    (message,) = [str(w.message) for w in record]
    key = source(name)
    assert "\n" not in message and message.startswith(files[name])
    assert all(r.md5 in message for r in releases.of_source(key))
    assert not any(r.md5 in message for r in releases.RELEASES if r.source != key)
    digest = hashlib.md5(open(files[name], "rb").read(), usedforsecurity=False).hexdigest()
    known = releases.Release(key, os.path.basename(files[name]), "a test release", digest, None, ())
    monkeypatch.setattr(releases, "RELEASES", (*releases.RELEASES, known))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_network(files[name])
