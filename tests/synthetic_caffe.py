"""A synthetic VGG_ILSVRC_19_layers.caffemodel in both of Caffe's layer formats, written record by record.

The structure (BVLC/caffe src/caffe/proto/caffe.proto; docs/REFERENCE.md section 1): a NetParameter
with the net's name (field 1), its layers and its input (3, with input_dim 4 or input_shape 8). The old
format, the Oxford file's, has `layers` (2) of V1LayerParameter (bottom 2, top 3, name 4, type 5 an enum,
blobs 6, convolution_param 10, pooling_param 19) whose blobs give num/channels/height/width (1-4); the
new one has `layer` (100) of LayerParameter (name 1, type 2 a string, bottom 3, top 4, blobs 7,
convolution_param 106, pooling_param 121) whose blobs give `shape` (7). Blob values are `data` (5),
packed (one record, what Caffe writes) or one record per value (which every parser must also accept).
Fields are written in field-number order, as Caffe's C++ serializer writes them. tests/caffe_proto.py
checks these files against the protobuf package's own parser.

Every deploy-prototxt layer is there (relu, pool, drop, prob without blobs) and the fully connected
ones with their weights, in the sizes ``fc`` gives (the real 25088 x 4096 ... at full size).
"""

from __future__ import annotations

import os

import numpy as np
from synthetic_keras import keras_kernel

from vgg.net.layers import CONV_LAYERS, VGG19_LAYERS

VARINT, LEN, I32 = 0, 2, 5
V1_TYPES = {"conv": 4, "relu": 18, "pool": 17, "fc": 14, "drop": 6, "prob": 20}
V2_TYPES = {"conv": "Convolution", "relu": "ReLU", "pool": "Pooling", "fc": "InnerProduct", "drop": "Dropout",
            "prob": "Softmax"}  # fmt: skip
# V1 and V2 field numbers: name, type, bottom, top, blobs, convolution_param, pooling_param
FIELDS = {"v1": (4, 5, 2, 3, 6, 10, 19), "v2": (1, 2, 3, 4, 7, 106, 121)}
TAIL = ("pool5", "fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8", "prob")


def caffe_blob(kernel: np.ndarray, first: bool) -> np.ndarray:
    """The (out, in, height, width) blob, BGR for conv1_1, that MatConvNet's import-caffe.py turned into the
    .mat's array of this kernel. The converter did blob.transpose() (every axis reversed), then
    .transpose([1, 0, 2, 3]), then reversed conv1_1's input channels (to RGB): that is undone here, from
    Keras's array, which is the converter's output with conv1_1 still BGR."""
    return keras_kernel(kernel, first).transpose(1, 0, 2, 3).transpose()


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def _size(chunks: list) -> int:
    return sum(len(chunk) for chunk in chunks)


def message(number: int, chunks: list) -> list:
    """An embedded message (or any LEN field) made of ``chunks`` (bytes, or uint8 arrays not copied)."""
    return [_key(number, LEN) + varint(_size(chunks)), *chunks]


def string(number: int, text: str) -> list:
    return message(number, [text.encode()])


def integer(number: int, value: int) -> list:
    return [_key(number, VARINT) + varint(value)]


def floats(number: int, values: np.ndarray, packed: bool) -> list:
    raw = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    if packed:
        return message(number, [raw.view(np.uint8)])
    table = np.empty((raw.size, 5), np.uint8)  # one record per value: the tag byte, then 4 bytes
    table[:, 0] = number << 3 | I32
    table[:, 1:] = raw.view(np.uint8).reshape(-1, 4)
    return [table.reshape(-1)]


def blob(array: np.ndarray, fmt: str, packed: bool) -> list:
    """A BlobProto: legacy 4D dimensions (v1, padded in front with 1s, as Caffe's 4D blobs were), or a shape."""
    if fmt == "v1":
        dims = (1,) * (4 - array.ndim) + array.shape
        return [chunk for n, d in enumerate(dims, 1) for chunk in integer(n, d)] + floats(5, array, packed)
    return floats(5, array, packed) + message(7, packed_ints(1, array.shape))  # shape: BlobShape.dim, packed


def _params(kind: str, fmt: str, out: int) -> list:
    *_, conv_field, pool_field = FIELDS[fmt]
    if kind == "conv":  # ConvolutionParameter: num_output 1, pad 3, kernel_size 4
        return message(conv_field, integer(1, out) + integer(3, 1) + integer(4, 3))
    if kind == "pool":  # PoolingParameter: pool 1 (MAX = 0), kernel_size 2, stride 3
        return message(pool_field, integer(1, 0) + integer(2, 2) + integer(3, 2))
    return []


def layer(name: str, blobs: list[np.ndarray], fmt: str, packed: bool, bottom: str, top: str) -> list:
    """One layer record's payload, in field-number order."""
    name_f, type_f, bottom_f, top_f, blobs_f, *_ = FIELDS[fmt]
    kind = "conv" if name.startswith("conv") else name.rstrip("0123456789_")
    kind_chunks = integer(type_f, V1_TYPES[kind]) if fmt == "v1" else string(type_f, V2_TYPES[kind])
    fields = {name_f: string(name_f, name), type_f: kind_chunks, bottom_f: string(bottom_f, bottom)}
    fields[top_f] = string(top_f, top)
    fields[blobs_f] = [c for b in blobs for c in message(blobs_f, blob(b, fmt, packed))]
    out = blobs[0].shape[0] if blobs else 0
    params = _params(kind, fmt, out)
    return [chunk for number in sorted(fields) for chunk in fields[number]] + params


def _blobs(name: str, weights: dict, fmt: str) -> list[np.ndarray]:
    if name in CONV_LAYERS:
        kernel, bias = weights[name]
        return [caffe_blob(kernel, name == CONV_LAYERS[0]), bias]
    if name.startswith("fc"):  # InnerProduct: (outputs, inputs)
        kernel, bias = weights[name]
        return [kernel.reshape(-1, kernel.shape[3]).T, bias]
    return []


def packed_ints(number: int, values) -> list:
    return message(number, [b"".join(varint(v) for v in values)])


def layer_names(conv_names=CONV_LAYERS, fc: bool = True) -> list[str]:
    """The deploy prototxt's layers, less the conv layers (and their relus) not in ``conv_names``."""
    names = [n for n in VGG19_LAYERS + TAIL[:1] if not n.startswith(("conv", "relu")) or f"conv{n[4:]}" in conv_names]
    return names + (list(TAIL[1:]) if fc else [])


def net_chunks(weights: dict, fmt: str = "v1", packed: bool = True, conv_names=CONV_LAYERS, fc: bool = True) -> list:
    """The whole file as chunks: conv_names (fewer for VGG-16, none for the top alone), fc the fully connected."""
    field, layers, previous = (2 if fmt == "v1" else 100), [], "data"
    for name in layer_names(conv_names, fc):
        top = previous if name.startswith(("relu", "drop")) else name  # in place, as the deploy prototxt has them
        layers += message(field, layer(name, _blobs(name, weights, fmt), fmt, packed, previous, top))
        previous = top
    head, dims = string(1, "VGG_ILSVRC_19_layers"), (10, 3, 224, 224)
    if fmt == "v1":  # name 1, layers 2, input 3, input_dim 4 (unpacked: proto2's repeated int32)
        return head + layers + string(3, "data") + [c for d in dims for c in integer(4, d)]
    return head + string(3, "data") + message(8, packed_ints(1, dims)) + layers  # input_shape 8, layer 100


def write_vgg19_caffemodel(path: str | os.PathLike, weights: dict, fmt: str = "v1", packed: bool = True, **kw) -> None:
    """Write the file for ``weights`` (synthetic_vgg.random_weights); ``kw``: net_chunks' conv_names and fc."""
    with open(os.fspath(path), "wb") as f:
        for chunk in net_chunks(weights, fmt, packed, **kw):
            f.write(chunk)
