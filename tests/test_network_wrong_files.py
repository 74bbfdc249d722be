"""A wrong weight file is one line that names the file and what it is: VGG-16, the top only, cut short, HDF5 or
protobuf of something else, a pickle (never unpickled), a MATLAB 7.3 file, a prototxt."""

from __future__ import annotations

import pickle
import zipfile

import h5py
import numpy as np
import pytest
from synthetic_caffe import blob, message, string, write_vgg19_caffemodel
from synthetic_keras import write_vgg19_h5
from synthetic_vgg import random_weights

from vgg.errors import NetworkFileError
from vgg.net.layers import CONV_LAYERS
from vgg.net.load import read_network
from vgg.net.weights import VGG16_ABSENT

VGG16 = tuple(n for n in CONV_LAYERS if n not in VGG16_ABSENT)
READS = "this program reads MatConvNet's imagenet-vgg-verydeep-19.mat, Keras's"


@pytest.fixture(scope="module")
def weights():
    return random_weights(seed=5)


def _h5_vgg16(path, w):
    write_vgg19_h5(path, w, keras=1, conv_names=VGG16)
    return "a Keras VGG-16 .h5 (13 conv layers: no block3_conv4, block4_conv4, block5_conv4), not VGG-19"


def _caffe_vgg16(path, w):
    write_vgg19_caffemodel(path, w, "v1", conv_names=VGG16)
    return "a VGG-16 .caffemodel (13 conv layers: no conv3_4, conv4_4 or conv5_4), not VGG-19"


def _h5_top_only(path, w):
    write_vgg19_h5(path, w, keras=2, top=True, conv_names=())
    return "only VGG's top (flatten, fc1, fc2, predictions), no convolutional layers"


def _caffe_top_only(path, w):
    write_vgg19_caffemodel(path, w, "v2", conv_names=())
    return "only fully connected layers (fc6, fc7, fc8), no convolutional ones"


def _cut(path, fraction):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def _h5_truncated(path, w):
    write_vgg19_h5(path, w, keras=1)
    _cut(path, 0.6)
    return "a truncated HDF5 file (Unable to"


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.97])
def test_a_caffemodel_cut_anywhere_is_named_truncated(tmp_path, weights, fraction):
    path = tmp_path / "VGG_ILSVRC_19_layers.caffemodel"
    write_vgg19_caffemodel(path, weights, "v1")
    _cut(path, fraction)
    _assert_one_line(path, "not a well-formed Caffe model (a truncated file): field 2 at byte")


def _h5_other(path, w):
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((4, 8, 8)))
        f.create_group("labels")
    return "an HDF5 file, but not Keras weights: no 'layer_names' attribute (top level: images, labels)"


def _h5_other_network(path, w):
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"input_1", b"conv1", b"bn_conv1", b"res2a_branch2a"]
        for name in ("input_1", "conv1", "bn_conv1", "res2a_branch2a"):
            f.create_group(name).attrs["weight_names"] = []
    return "Keras weights of another network: no layer block1_conv1 (0 of VGG-19's 16 conv layers; layers: input_1"


def _h5_theano(path, w):
    th = {n: (np.ascontiguousarray(k.transpose(3, 2, 0, 1)), b) for n, (k, b) in w.items()}
    write_vgg19_h5(path, w, keras=1)
    with h5py.File(path, "r+") as f:
        del f["block1_conv1/block1_conv1_W_1:0"]
        f["block1_conv1"].create_dataset("block1_conv1_W_1:0", data=th["conv1_1"][0])
    return "block1_conv1: kernels in Theano's layout (4, 3, 3, 3)"


def _caffe_other_network(path, w):
    alexnet = [("conv1", (96, 3, 11, 11)), ("conv2", (256, 48, 5, 5)), ("fc6", (64, 128))]
    chunks = string(1, "CaffeNet")
    for name, shape in alexnet:
        blobs = [
            c
            for array in (np.ones(shape, np.float32), np.ones(shape[0], np.float32))
            for c in message(7, blob(array, "v2", True))
        ]
        chunks += message(100, [*string(1, name), *string(2, "Convolution"), *blobs])
    path.write_bytes(b"".join(bytes(c) for c in chunks))
    return (
        "a Caffe model of another network: no layer conv1_1 (0 of VGG-19's 16 conv layers; layers with weights: conv1"
    )


def _caffe_wrong_shape(path, w):
    w = dict(w)
    w["conv2_1"] = (w["conv2_1"][0][:, :, :3, :], w["conv2_1"][1])
    write_vgg19_caffemodel(path, w, "v2")
    return "layer conv2_1: expected weights of shape (C, 4, 3, 3) and C biases, got weights (6, 3, 3, 3)"


def _caffe_nan(path, w):
    w = dict(w)
    kernel = w["conv3_2"][0].copy()
    kernel[1, 1, 0, 0] = np.nan
    w["conv3_2"] = (kernel, w["conv3_2"][1])
    write_vgg19_caffemodel(path, w, "v1")
    return "layer conv3_2 has NaN or infinite weights (a damaged file)"


def _pth_zip(path, w):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"conv1_1.weight": [0.0]}))
        z.writestr("archive/version", "3\n")
    return f"a PyTorch checkpoint (.pth: pickles in a zip), which is never unpickled; {READS}"


class _Trap:
    """Unpickling this touches a file: the test sees whether anything was unpickled."""

    sentinel = ""

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def _pickle(path, w):
    _Trap.sentinel = str(path) + ".unpickled"
    path.write_bytes(pickle.dumps(_Trap(), protocol=2))
    return f"a Python pickle (an old PyTorch .pth?), which is never unpickled; {READS}"


def _matlab_73(path, w):
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("layers", data=np.zeros(3))
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .")
    return "a MATLAB 7.3 .mat (HDF5), which scipy cannot read: MatConvNet's files are MATLAB 5 files (save it with -v7)"


def _prototxt(path, w):
    path.write_text('name: "VGG_ILSVRC_19_layers"\ninput: "data"\ninput_dim: 10\nlayers {\n  name: "conv1_1"\n}\n')
    return "a Caffe prototxt (the network in text, without its weights)"


def _v0_layers(path, w):
    v0 = [*string(1, "conv1_1"), *string(2, "conv")]
    path.write_bytes(b"".join(bytes(c) for c in [*string(1, "old"), *message(2, message(1, v0))]))
    return "a Caffe model in the V0 layer format (before 2014), which is not read here"


WRONG = [_h5_vgg16, _caffe_vgg16, _h5_top_only, _caffe_top_only, _h5_truncated, _h5_other, _h5_other_network,
         _h5_theano, _caffe_other_network, _caffe_wrong_shape, _caffe_nan, _pth_zip, _pickle, _matlab_73, _prototxt,
         _v0_layers]  # fmt: skip


def _assert_one_line(path, detail):
    with pytest.raises(NetworkFileError) as info:
        read_network(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path) + ": "), message
    assert detail in message, message
    assert any(what in message for what in ("expected", "this program reads", "a damaged file")), message


@pytest.mark.parametrize("make", WRONG, ids=[f.__name__[1:] for f in WRONG])
def test_a_wrong_file_is_one_line_naming_what_it_is(tmp_path, weights, make):
    path = tmp_path / "weights.bin"
    detail = make(path, weights)
    _assert_one_line(path, detail)


def test_a_pickle_is_never_unpickled(tmp_path, weights):
    path = tmp_path / "vgg19.pth"
    _pickle(path, weights)
    with pytest.raises(NetworkFileError):
        read_network(path)
    assert not (tmp_path / "vgg19.pth.unpickled").exists()
    pickle.loads(path.read_bytes()).close()  # the trap works: loading it would have made the file
    assert (tmp_path / "vgg19.pth.unpickled").exists()
