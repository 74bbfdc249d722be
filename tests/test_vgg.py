"""VGG-19: the .mat reader (both layouts, by field name, clear errors), the model, its forward vs TF."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
import scipy.io
import tf_vgg_reference as ref
from synthetic_vgg import SMALL_CHANNELS, sample_image, vgg19_mat_dict, write_vgg19_mat
from tf_reference import tf  # imported on first use; the comparisons are skipped without it

import minigrad as mg
from minigrad import backend as mg_backend
from vgg.errors import NetworkFileError, UnknownNetworkWarning
from vgg.net import load as loader
from vgg.net import releases
from vgg.net.layers import CONV_LAYERS, VGG19_LAYERS, conv_shapes
from vgg.net.matconvnet import MATCONVNET_TAIL
from vgg.net.model import VGG19, random_vgg19

LAYOUTS = ("old", "new")


@pytest.fixture(scope="module")
def mats(tmp_path_factory):
    """Both layouts written from the same weights: {layout: (path, what was written)}."""
    root = tmp_path_factory.mktemp("vgg")
    return {
        layout: (str(root / f"{layout}.mat"), write_vgg19_mat(root / f"{layout}.mat", layout)) for layout in LAYOUTS
    }


def read(path):
    return loader.read_network(path)


# ---- the synthetic files mirror the real ones ---------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_synthetic_file_has_the_real_structure(mats, layout):
    path, written = mats[layout]
    data = scipy.io.loadmat(path)
    expected_keys = {"old": {"layers", "classes", "normalization"}, "new": {"layers", "meta"}}[layout]
    assert {k for k in data if not k.startswith("__")} == expected_keys
    layers = data["layers"][0]
    assert len(layers) == 43
    names = [str(layer[0][0]["name"][0]) for layer in layers]
    assert tuple(names) == VGG19_LAYERS + MATCONVNET_TAIL
    types = [str(layer[0][0]["type"][0]) for layer in layers]
    assert types[:36] == [n[:4] for n in VGG19_LAYERS]
    assert types[36:] == ["pool", "conv", "relu", "conv", "relu", "conv", "softmax"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_synthetic_file_satisfies_the_original_positional_paths(mats, layout):
    path, written = mats[layout]
    weights, mean_pixel = ref.load_net(path)  # the later original's positional paths (docs/REFERENCE.md section 1)
    np.testing.assert_allclose(mean_pixel, written["mean_pixel"], rtol=1e-6)
    np.testing.assert_array_equal(read(path).mean_pixel, mean_pixel)  # by name == by position, to the bit
    for i, name in enumerate(VGG19_LAYERS):
        if name.startswith("conv"):
            kernels, bias = ref.conv_weights(weights, i)
            np.testing.assert_array_equal(kernels, written["params"][name][0])
            np.testing.assert_array_equal(bias, written["params"][name][1])
    if layout == "old":
        data = scipy.io.loadmat(path)
        assert data["normalization"][0][0][0].shape == (224, 224, 3)
        assert isinstance(data["layers"][0][0][0][0][0][0], np.ndarray)
    else:
        assert not isinstance(scipy.io.loadmat(path)["layers"][0][0][0][0][0][0], np.ndarray)


# ---- the reader --------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reader_loads_both_layouts_by_field_name(mats, layout):
    path, written = mats[layout]
    net = read(path)
    assert net.description == f"MatConvNet .mat ({layout} layout)" and net.format == "mat"
    assert net.mean_pixel.dtype == np.float32 and net.mean_pixel.shape == (3,)
    np.testing.assert_allclose(net.mean_pixel, written["mean_pixel"], rtol=1e-6)
    assert set(net.params) == set(CONV_LAYERS)
    for name, (kernel, bias) in net.params.items():
        # MatConvNet's [W, H, in, out] came back as TensorFlow's [H, W, in, out]
        np.testing.assert_array_equal(kernel, written["params"][name][0])
        np.testing.assert_array_equal(bias, written["params"][name][1])
        assert kernel.dtype == np.float32 and bias.ndim == 1


def test_both_layouts_give_the_same_network(mats):
    old, new = read(mats["old"][0]), read(mats["new"][0])
    for name in CONV_LAYERS:
        np.testing.assert_array_equal(old.params[name][0], new.params[name][0])


def test_non_square_transpose_is_applied(tmp_path):
    # the kernels are 3x3, so check the transpose on values: stored [w, h] must read back as [h, w]
    path = tmp_path / "v.mat"
    written = write_vgg19_mat(path, "new", seed=5)
    stored = scipy.io.loadmat(path)["layers"][0][0][0][0]["weights"][0][0]
    kernel = read(path).params["conv1_1"][0]
    assert kernel[0, 1, 0, 0] == stored[1, 0, 0, 0] and kernel[2, 0, 1, 2] == stored[0, 2, 1, 2]
    np.testing.assert_array_equal(kernel, written["params"]["conv1_1"][0])


def test_unknown_md5_is_a_one_line_warning(mats):
    path = mats["new"][0]
    with pytest.warns(UnknownNetworkWarning) as record:
        loader.load_network(path)
    message = str(record[0].message)
    assert "\n" not in message and path in message
    assert "8ee3263992981a1d26e73b3ca028a123" in message and "106118b7cf60435e6d8e04f6a6dc3657" in message


def test_known_md5_does_not_warn(mats, monkeypatch):
    path = mats["old"][0]
    digest = hashlib.md5(open(path, "rb").read(), usedforsecurity=False).hexdigest()
    known = releases.Release("mat", "x.mat", "the old release", digest, None, ())
    monkeypatch.setattr(releases, "RELEASES", (*releases.RELEASES, known))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loader.load_network(path)


def _write(tmp_path, variables):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, variables)
    return str(path)


def _renamed_layer(tmp_path):
    variables, _ = vgg19_mat_dict("new")
    variables["layers"][0, 5][0, 0]["name"] = "conv9_9"
    return _write(tmp_path, variables), "layer 5 is 'conv9_9'"


def _wrong_type(tmp_path):
    variables, _ = vgg19_mat_dict("old")
    variables["layers"][0, 1][0, 0]["type"] = "tanh"
    return _write(tmp_path, variables), "expected 'relu1_1' of type 'relu'"


def _wrong_shape(tmp_path):
    variables, _ = vgg19_mat_dict("new")
    kernels = variables["layers"][0, 2][0, 0]["weights"][0, 0]
    variables["layers"][0, 2][0, 0]["weights"][0, 0] = kernels[:, :, :2, :]
    return _write(tmp_path, variables), f"conv1_2: expected kernels of shape (3, 3, {SMALL_CHANNELS[0]}, C)"


def _few_layers(tmp_path):
    variables, _ = vgg19_mat_dict("new")
    variables["layers"] = variables["layers"][:, :20]
    return _write(tmp_path, variables), "at least 36"


def _wrong_keys(tmp_path):
    return _write(tmp_path, {"weights": np.zeros((3, 3))}), "found weights"


def _no_average_image(tmp_path):
    variables, _ = vgg19_mat_dict("old")
    variables["normalization"] = np.zeros((1, 1), dtype=[("keepAspect", object)])
    return _write(tmp_path, variables), "no field 'averageImage'"


def _text_file(tmp_path):
    path = tmp_path / "notes.mat"
    path.write_text("this is not a MATLAB file\n" * 20)
    return str(path), "not a network file this program reads"


def _truncated(tmp_path):
    path = tmp_path / "truncated.mat"
    write_vgg19_mat(path, "old")
    path.write_bytes(path.read_bytes()[:100_000])
    return str(path), "not a MATLAB .mat file"


def _empty_file(tmp_path):
    path = tmp_path / "empty.mat"
    path.write_bytes(b"")
    return str(path), "is empty (0 bytes)"


def _missing(tmp_path):
    return str(tmp_path / "nowhere.mat"), "no such file"


def _directory(tmp_path):
    return str(tmp_path), "is a directory"


@pytest.mark.parametrize(
    "make",
    [
        _renamed_layer,
        _wrong_type,
        _wrong_shape,
        _few_layers,
        _wrong_keys,
        _no_average_image,
        _text_file,
        _truncated,
        _empty_file,
        _missing,
        _directory,
    ],
)
def test_bad_network_file_is_one_line_naming_file_and_expectation(tmp_path, make):
    path, detail = make(tmp_path)
    with pytest.raises(NetworkFileError) as info:
        read(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(path) and detail in message
    assert "expected" in message or "imagenet-vgg-verydeep-19.mat" in message


# ---- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_forward_matches_tensorflow(mats, xp, pooling):
    path = mats["new"][0]
    net = loader.load_network(path, pooling=pooling, backend="numpy" if xp is np else "cupy", check_release=False)
    image = (sample_image(15, 21, seed=2) - 120.0)[None].astype(np.float32)  # odd sizes: SAME pooling pads
    with mg.no_grad():
        ours = net.forward(mg.Tensor(xp.asarray(image)), VGG19_LAYERS)
    weights, _ = ref.load_net(path)
    theirs = ref.net(weights, tf.constant(image), pooling)
    for name in VGG19_LAYERS:
        a, b = mg_backend.to_numpy(ours[name].data), theirs[name].numpy()
        assert a.shape == b.shape, name
        scale = max(float(np.abs(b).max()), 1e-6)
        assert float(np.abs(a - b).max()) / scale <= 1e-5, name


def test_forward_stops_at_the_deepest_wanted_layer(mats, monkeypatch):
    net = loader.load_network(mats["new"][0], check_release=False)
    computed = []
    original = VGG19._layer
    monkeypatch.setattr(VGG19, "_layer", lambda self, name, x: computed.append(name) or original(self, name, x))
    out = net.forward(mg.Tensor(np.zeros((1, 8, 8, 3), np.float32)), ["relu2_1", "relu1_1"])
    assert set(out) == {"relu1_1", "relu2_1"}
    assert computed == list(VGG19_LAYERS[: VGG19_LAYERS.index("relu2_1") + 1])


def test_forward_rejects_unknown_layers(mats):
    net = loader.load_network(mats["new"][0], check_release=False)
    with pytest.raises(ValueError, match="fc7"):
        net.forward(mg.Tensor(np.zeros((1, 4, 4, 3), np.float32)), ["fc7"])


def test_weights_are_constants_and_only_the_image_gets_a_gradient(mats):
    net = loader.load_network(mats["old"][0], check_release=False)
    assert all(not w.requires_grad and not b.requires_grad for w, b in net.params.values())
    image = mg.Tensor(np.ones((1, 6, 6, 3), np.float32), requires_grad=True)
    net.forward(image, ["relu3_1"])["relu3_1"].sum().backward()
    assert image.grad is not None and all(w.grad is None and b.grad is None for w, b in net.params.values())


def test_random_vgg19_has_the_real_shapes():
    net = random_vgg19(seed=1, channel_scale=1.0)
    assert {n: tuple(w.shape) for n, (w, _) in net.params.items()} == conv_shapes()
    small = random_vgg19(seed=1, channel_scale=1 / 16)
    assert small.channels["conv1_1"] == 4 and small.channels["conv5_4"] == 32
    assert small.params["conv1_1"][0].dtype == np.float32


def test_network_gradient_passes_a_directional_check():
    net = random_vgg19(seed=3, dtype=np.float64, channel_scale=1 / 32)
    x = np.random.default_rng(0).normal(0, 50, (1, 9, 11, 3))
    mg.gradcheck.check_directional(lambda t: mg.l2_loss(net.forward(t, ["relu5_1"])["relu5_1"]), [x], rtol=1e-6)


def test_pooling_is_checked():
    with pytest.raises(ValueError, match="pooling"):
        random_vgg19(pooling="min")


def test_replace_shares_the_weight_arrays_on_the_same_backend(xp):
    name = "numpy" if xp is np else "cupy"
    net = random_vgg19(seed=0, channel_scale=1 / 16, backend=name)
    avg = net.replace(pooling="avg")
    assert avg.pooling == "avg" and avg.backend == name
    for layer in CONV_LAYERS:
        for ours, theirs in zip(net.params[layer], avg.params[layer]):
            assert ours.data is theirs.data  # the same arrays: no copy of the 548 MB of weights
    float64 = VGG19(net.params, net.mean_pixel, dtype=np.float64, backend=name)
    assert float64.params["conv1_1"][0].data.dtype == np.float64  # another dtype: a converted copy
    np.testing.assert_array_equal(mg_backend.to_numpy(float64.params["conv1_1"][0].data),
                                  mg_backend.to_numpy(net.params["conv1_1"][0].data))  # fmt: skip
