"""The .caffemodel reader's wire format against the protobuf package, and the test writers against the published
conversions: MatConvNet's import-caffe.py made the .mat from the .caffemodel; Keras holds Caffe's values."""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest
import scipy.io
from synthetic_caffe import blob, caffe_blob, integer, layer_names, message, string, write_vgg19_caffemodel
from synthetic_keras import write_vgg19_h5
from synthetic_vgg import random_weights, write_vgg19_mat

from vgg.net import caffe, protowire
from vgg.net.layers import CONV_LAYERS, VGG19_LAYERS
from vgg.net.load import read_network

caffe_proto = pytest.importorskip("caffe_proto")  # needs the protobuf package (tensorflow's dependency)
FORMATS = [("v1", True), ("v1", False), ("v2", True), ("v2", False)]


@pytest.fixture(scope="module")
def weights():
    return random_weights(seed=11)


@pytest.fixture(scope="module")
def messages():
    try:
        return {packed: caffe_proto.caffe_messages(packed) for packed in (True, False)}
    except ImportError as exc:
        pytest.skip(f"the protobuf package is not installed: {exc}")


def _parse(messages, data: bytes, packed: bool = True):
    return messages[packed]["NetParameter"].FromString(data)


@pytest.mark.parametrize(("fmt", "packed"), FORMATS)
def test_the_synthetic_caffemodel_is_the_protobuf_packages_own_encoding(tmp_path, weights, messages, fmt, packed):
    path = tmp_path / "vgg.caffemodel"
    write_vgg19_caffemodel(path, weights, fmt, packed)
    data = path.read_bytes()
    net = _parse(messages, data, packed)
    assert net.SerializeToString() == data  # field for field, in Caffe's order, packed or not as declared
    layers = net.layers if fmt == "v1" else net.layer
    assert [x.name for x in layers] == layer_names() and len(net.layers if fmt == "v2" else net.layer) == 0
    by_name = {x.name: x for x in layers}
    for name in CONV_LAYERS:
        kernel, bias = by_name[name].blobs
        dims = (kernel.num, kernel.channels, kernel.height, kernel.width) if fmt == "v1" else tuple(kernel.shape.dim)
        expected = caffe_blob(weights[name][0], name == "conv1_1")
        assert dims == expected.shape
        np.testing.assert_array_equal(np.array(kernel.data, np.float32).reshape(dims), expected)
        np.testing.assert_array_equal(np.array(bias.data, np.float32), weights[name][1])
    assert by_name["conv1_1"].type == (4 if fmt == "v1" else "Convolution")


def test_the_writers_follow_the_published_conversions(tmp_path, weights, messages):
    """The .mat is what MatConvNet's import-caffe.py (2015, lines 27-29 and 431-434) makes of the .caffemodel,
    and Keras's kernels are Caffe's blobs as (height, width, in, out), BGR first layer included."""
    write_vgg19_caffemodel(tmp_path / "c.caffemodel", weights, "v1")
    write_vgg19_mat(tmp_path / "m.mat", "old", weights=weights)
    write_vgg19_h5(tmp_path / "k.h5", weights, keras=1)
    net = _parse(messages, (tmp_path / "c.caffemodel").read_bytes())
    blobs = {x.name: x.blobs[0] for x in net.layers if x.blobs}
    mat_layers = scipy.io.loadmat(tmp_path / "m.mat")["layers"][0]
    with h5py.File(tmp_path / "k.h5", "r") as h5:
        for name in CONV_LAYERS:
            b = blobs[name]
            converted = np.array(b.data, dtype="float32").reshape(b.num, b.channels, b.height, b.width).transpose()
            converted = converted.transpose([1, 0, 2, 3])
            if name == "conv1_1":
                converted = converted[:, :, ::-1, :]  # "to RGB"
            stored = mat_layers[VGG19_LAYERS.index(name)][0][0]["weights"][0][0]
            np.testing.assert_array_equal(stored, converted)
            keras = f"block{name[4]}_conv{name[6]}"
            caffe_hwio = np.array(b.data, np.float32).reshape(b.num, b.channels, 3, 3).transpose(2, 3, 1, 0)
            np.testing.assert_array_equal(h5[f"{keras}/{keras}_W_1:0"][()], caffe_hwio)


def _library_net(messages, weights, fmt: str, packed: bool) -> bytes:
    """VGG-19's conv layers (and fc6) written by the protobuf package itself."""
    classes = messages[packed]
    net = classes["NetParameter"](name="VGG_ILSVRC_19_layers", input=["data"])
    for name in [*CONV_LAYERS, "fc6"]:
        kernel, bias = weights[name]
        blob = caffe_blob(kernel, name == "conv1_1") if name != "fc6" else kernel.reshape(-1, kernel.shape[3]).T
        layer = net.layers.add(name=name, type=4) if fmt == "v1" else net.layer.add(name=name, type="Convolution")
        for array in (blob, bias):
            proto = layer.blobs.add(data=array.reshape(-1).tolist())
            if fmt == "v1":
                proto.num, proto.channels, proto.height, proto.width = (1,) * (4 - array.ndim) + array.shape
            else:
                proto.shape.dim.extend(array.shape)
    return net.SerializeToString()


@pytest.mark.parametrize(("fmt", "packed"), FORMATS)
def test_the_reader_reads_what_the_protobuf_package_writes(tmp_path, weights, messages, fmt, packed):
    path = tmp_path / "library.caffemodel"
    path.write_bytes(_library_net(messages, weights, fmt, packed))
    net = read_network(path)
    for name in CONV_LAYERS:
        np.testing.assert_array_equal(net.params[name][0], weights[name][0])
        np.testing.assert_array_equal(net.params[name][1], weights[name][1])


def test_a_layers_fields_in_any_order(tmp_path, weights, messages):
    """Protobuf allows fields in any order: here each layer's blobs come before its name and type."""
    chunks = string(1, "VGG_ILSVRC_19_layers")
    for name in CONV_LAYERS:
        arrays = [caffe_blob(weights[name][0], name == "conv1_1"), weights[name][1]]
        blobs = [chunk for array in arrays for chunk in message(6, blob(array, "v1", True))]
        chunks += message(2, [*blobs, *string(4, name), *integer(5, 4)])
    path = tmp_path / "shuffled.caffemodel"
    path.write_bytes(b"".join(bytes(c) for c in chunks))
    assert _parse(messages, path.read_bytes()).layers[5].name == "conv3_2"  # a valid message
    net = read_network(path)
    for name in CONV_LAYERS:
        np.testing.assert_array_equal(net.params[name][0], weights[name][0])


# ---- the wire format itself ---------------------------------------------------------------------


@pytest.mark.parametrize(("encoded", "value"), [(b"\x01", 1), (b"\x96\x01", 150), (b"\xac\x02", 300), (b"\x00", 0)])
def test_varints_as_the_encoding_guide_gives_them(encoded, value):
    assert protowire.read_varint(io.BytesIO(encoded), len(encoded)) == value


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\xff" * 11, "longer than 10 bytes"),
        (b"\x0a\x05abc", "past the end"),  # a LEN of 5 with 3 bytes
        (b"\x0b", "wire type 3"),  # a group
        (b"\x00\x01", "field number 0"),
        (b"\x96", "past the end"),  # a varint cut short
    ],
)
def test_malformed_messages_are_errors_that_say_where(data, error):
    with pytest.raises(protowire.WireError, match=error):
        list(protowire.records(io.BytesIO(data), 0, len(data)))


def test_a_run_of_unpacked_floats_is_read_at_once_and_stops_at_another_field():
    values = np.arange(5, dtype="<f4")
    table = np.empty((5, 5), np.uint8)
    table[:, 0], table[:, 1:] = 0x2D, values.view(np.uint8).reshape(5, 4)
    payload = b"\x08\x07" + table.tobytes() + b"\x2d" + b"\x00" * 3  # num = 7, 5 floats, then one cut short
    got, end = protowire.fixed_run(payload, 2, 0x2D, "<f4")
    np.testing.assert_array_equal(got, values)
    assert end == 2 + 25


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_a_caffemodel_is_recognised_by_its_first_bytes(tmp_path, weights, fmt):
    path = tmp_path / "x.caffemodel"
    write_vgg19_caffemodel(path, weights, fmt)
    assert caffe.is_caffemodel(path.read_bytes()[:4096])


@pytest.mark.parametrize(
    "head",
    [
        b'name: "VGG_ILSVRC_19_layers"\ninput: "data"\n',
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        bytes(4096),
        np.random.default_rng(0).bytes(4096),
        b"MATLAB 5.0 MAT-file, Platform: GLNXA64" + bytes(100),
        b"\x89HDF\r\n\x1a\n" + bytes(100),
        b"\n\x05hello\n\x05world",  # a string field and no layer
        b"\x08\x08\x12\x07\x0a\x05torch",  # an ONNX model: ir_version (a varint in field 1), then a field 2
    ],
)
def test_other_files_are_not_taken_for_one(head):
    assert not caffe.is_caffemodel(head)
