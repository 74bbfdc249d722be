"""Oxford's VGG_ILSVRC_19_layers.caffemodel: a Caffe NetParameter in protobuf's wire format, read by streaming.

Only the conv layers' blobs are read; every other record, the 495 MB of fully connected weights included,
is seeked past (vgg.net.protowire). Both layer formats are read: the old `layers` (field 2,
V1LayerParameter: name 4, type 5 an enum, blobs 6), which the Oxford file uses, with 4D blob dimensions
(num, channels, height, width: fields 1-4), and the new `layer` (field 100, LayerParameter: name 1,
type 2 a string, blobs 7) with `shape` (field 7). Blob values are `data` (field 5, float32, packed or
not) or `double_data` (field 8). Field numbers: BVLC/caffe src/caffe/proto/caffe.proto.

A conv blob is (out, in, height, width) for BGR input; the network here gets the seed's reading of the
MatConvNet file converted from this one: blob.transpose(3, 2, 1, 0) (HWIO with the two spatial axes
swapped, as the seed's reading swaps them) and conv1_1's input channels reversed to RGB
(docs/REFERENCE.md section 1). The file holds no mean pixel: the one the model was published with is used.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from ..errors import NetworkFileError
from .layers import CONV_LAYERS, MEAN_PIXEL
from .protowire import I32, I64, LEN, VARINT, Record, WireError, fixed_run, packed_varints, read_bytes, read_record
from .weights import VGG16_ONLY, NetworkWeights, check_finite, vgg16_missing

EXPECTED = "Oxford's VGG_ILSVRC_19_layers.caffemodel"
V1_LAYERS, V2_LAYER = 2, 100  # NetParameter's fields
# NetParameter's fields and their wire types, for recognising the file by its first bytes
_NET_FIELDS = {1: LEN, V1_LAYERS: LEN, 3: LEN, 4: VARINT, 5: VARINT, 6: LEN, 7: VARINT, 8: LEN, V2_LAYER: LEN}
# (name, type, blobs) field numbers of a layer, by the NetParameter field that holds it
_LAYER_FIELDS = {V1_LAYERS: (4, 5, 6), V2_LAYER: (1, 2, 7)}
# A layer's first fields (Caffe writes them in field-number order) and their wire types, by format
_FIRST_FIELDS = {
    V1_LAYERS: {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: VARINT, 6: LEN},
    V2_LAYER: {1: LEN, 2: LEN, 3: LEN, 4: LEN, 6: LEN, 7: LEN, 10: VARINT},
}
_V0_LAYER = 1  # V1LayerParameter's nested pre-2014 layer
_V1_TYPES = {4: "Convolution", 14: "InnerProduct", 17: "Pooling", 18: "ReLU", 6: "Dropout", 20: "Softmax"}
_DATA_TAG, _DOUBLE_TAG = 5 << 3 | I32, 8 << 3 | I64  # one unpacked float / double
MAX_NAME = 1024


class _MismatchError(Exception):
    """A well-formed Caffe model, but not VGG-19 (message says what it is)."""


@dataclass
class _Layer:
    name: str = ""
    kind: str = ""
    blobs: list[Record] = field(default_factory=list)
    v0: bool = False


def is_caffemodel(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Caffe NetParameter: known fields up to a first layer record
    whose own first field is a layer's."""
    stream, position = io.BytesIO(head), 0
    try:
        while position < len(head):
            record, position = read_record(stream, position, 1 << 62)
            if _NET_FIELDS.get(record.number) != record.wire:
                return False
            if record.number in _LAYER_FIELDS:
                if record.length == 0 or record.offset >= len(head):
                    return record.length > 0
                first, _ = read_record(stream, record.offset, 1 << 62)
                return _FIRST_FIELDS[record.number].get(first.number) == first.wire
    except WireError:
        return False
    return False


def read_vgg19_caffemodel(path: str | os.PathLike) -> NetworkWeights:
    """Read the conv layers; NetworkFileError (one line) when the file is not VGG-19's .caffemodel."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            layers, layout = _layers(f, size)
            params = _conv_params(f, _by_name(layers))
    except WireError as exc:
        cut = " (a truncated file)" if "past the end" in str(exc) or "cut short" in str(exc) else ""
        raise NetworkFileError(f"{name}: not a well-formed Caffe model{cut}: {exc}; expected {EXPECTED}") from None
    except _MismatchError as exc:
        raise NetworkFileError(f"{name}: {exc}; expected {EXPECTED}") from None
    except OSError as exc:
        raise NetworkFileError(f"{name}: cannot be read ({exc.strerror})") from None
    mean_pixel = MEAN_PIXEL.copy()
    check_finite(name, params, mean_pixel, "the published mean pixel")
    return NetworkWeights(params, mean_pixel, f"Caffe .caffemodel ({layout})", "caffe")


def _layers(f: BinaryIO, size: int) -> tuple[list[_Layer], str]:
    """Every layer record of the net (names, types, where their blobs are) and which format holds them."""
    layers, fields = [], set()
    position = 0
    while position < size:
        record, position = read_record(f, position, size)
        if record.number in _LAYER_FIELDS and record.wire == LEN:
            layers.append(_layer(f, record, *_LAYER_FIELDS[record.number]))
            fields.add(record.number)
    if not layers:
        raise _MismatchError("a protobuf message with no Caffe layers (NetParameter fields 2 and 100 are absent)")
    if all(layer.v0 and not layer.name for layer in layers):
        raise _MismatchError(
            "a Caffe model in the V0 layer format (before 2014), which is not read here; "
            "upgrade it with Caffe's upgrade_net_proto_binary"
        )
    layout = " and ".join(("the old 'layers' format", "the new 'layer' format")[n == V2_LAYER] for n in sorted(fields))
    return layers, layout


def _layer(f: BinaryIO, record: Record, name_field: int, type_field: int, blobs_field: int) -> _Layer:
    layer, end = _Layer(), record.offset + record.length
    position = record.offset
    while position < end:
        inner, position = read_record(f, position, end)
        if inner.number == name_field and inner.wire == LEN:
            if inner.length > MAX_NAME:
                raise WireError(f"a layer name of {inner.length} bytes at byte {inner.offset}")
            layer.name = read_bytes(f, inner).decode("utf-8", "replace")
        elif inner.number == type_field and inner.wire == VARINT:
            layer.kind = _V1_TYPES.get(inner.value, f"type {inner.value}")
        elif inner.number == type_field and inner.wire == LEN and inner.length <= MAX_NAME:
            layer.kind = read_bytes(f, inner).decode("utf-8", "replace")
        elif inner.number == blobs_field and inner.wire == LEN:
            layer.blobs.append(inner)
        elif inner.number == _V0_LAYER and blobs_field == _LAYER_FIELDS[V1_LAYERS][2]:
            layer.v0 = True
    return layer


def _by_name(layers: list[_Layer]) -> dict[str, _Layer]:
    """The layers by name, once it is sure all of VGG-19's conv layers are there."""
    named = {layer.name: layer for layer in layers}
    missing = [n for n in CONV_LAYERS if n not in named]
    if not missing:
        return named
    if vgg16_missing(missing):
        raise _MismatchError(f"a VGG-16 .caffemodel ({VGG16_ONLY}), not VGG-19")
    with_blobs = [layer.name for layer in layers if layer.blobs]
    if len(missing) == len(CONV_LAYERS) and with_blobs and all(n.startswith("fc") for n in with_blobs):
        raise _MismatchError(f"only fully connected layers ({', '.join(with_blobs)}), no convolutional ones")
    listed = ", ".join(with_blobs[:8]) + (", ..." if len(with_blobs) > 8 else "")
    found = len(CONV_LAYERS) - len(missing)
    raise _MismatchError(
        f"a Caffe model of another network: no layer {missing[0]} ({found} of VGG-19's {len(CONV_LAYERS)} conv "
        f"layers; layers with weights: {listed or 'none'})"
    )


def _conv_params(f: BinaryIO, layers: dict[str, _Layer]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    params, c_in = {}, 3
    for name in CONV_LAYERS:
        layer = layers[name]
        if layer.kind and layer.kind != "Convolution":
            raise _MismatchError(f"layer {name} is of type {layer.kind}, expected Convolution")
        if len(layer.blobs) != 2:
            raise _MismatchError(f"layer {name} has {len(layer.blobs)} blobs, expected 2 (weights and bias)")
        (dims, kernel), (_, bias) = (_blob(read_bytes(f, b), f"{name} blob {i}") for i, b in enumerate(layer.blobs))
        c_out = dims[0] if len(dims) == 4 else -1
        if len(dims) != 4 or dims[1:] != (c_in, 3, 3) or bias.size != c_out:
            raise _MismatchError(
                f"layer {name}: expected weights of shape (C, {c_in}, 3, 3) and C biases, "
                f"got weights {dims} and {bias.size} biases"
            )
        hwio = kernel.reshape(dims).transpose(3, 2, 1, 0)  # the seed's reading: H and W as the .mat's swap
        if name == CONV_LAYERS[0]:
            hwio = hwio[:, :, ::-1, :]  # BGR -> RGB
        params[name] = (np.ascontiguousarray(hwio, dtype=np.float32), bias.astype(np.float32))
        c_in = c_out
    return params


def _blob(payload: bytes, what: str) -> tuple[tuple[int, ...], np.ndarray]:
    """A BlobProto's dimensions (its shape, else its legacy num/channels/height/width) and values."""
    stream, position, end = io.BytesIO(payload), 0, len(payload)
    legacy, shape, floats, doubles = {}, (), [], []
    while position < end:
        record, after = read_record(stream, position, end)
        number, wire = record.number, record.wire
        if number in (1, 2, 3, 4) and wire == VARINT:
            legacy[number] = record.value
        elif number == 7 and wire == LEN:
            shape = _shape(payload[record.offset : record.offset + record.length])
        elif number in (5, 8) and wire == LEN:
            dtype = "<f4" if number == 5 else "<f8"
            if record.length % np.dtype(dtype).itemsize:
                raise WireError(f"{what}: packed values of {record.length} bytes at byte {record.offset}")
            count = record.length // np.dtype(dtype).itemsize
            (floats if number == 5 else doubles).append(np.frombuffer(payload, dtype, count, record.offset))
        elif (number, wire) in ((5, I32), (8, I64)):
            tag, dtype = (_DATA_TAG, "<f4") if number == 5 else (_DOUBLE_TAG, "<f8")
            values, after = fixed_run(payload, position, tag, dtype)
            (floats if number == 5 else doubles).append(values)
        position = after
    dims = shape or tuple(legacy.get(n, 0) for n in (1, 2, 3, 4))
    values = np.concatenate(doubles or floats or [np.zeros(0, np.float32)])
    if values.size != math.prod(dims):
        raise WireError(f"{what} holds {values.size} values for dimensions {dims}")
    return dims, values


def _shape(payload: bytes) -> tuple[int, ...]:
    """A BlobShape's dimensions: field 1, packed or not."""
    stream, position, dims = io.BytesIO(payload), 0, []
    while position < len(payload):
        record, position = read_record(stream, position, len(payload))
        if record.number == 1 and record.wire == LEN:
            dims.extend(packed_varints(payload[record.offset : record.offset + record.length]))
        elif record.number == 1 and record.wire == VARINT:
            dims.append(record.value)
    return tuple(dims)
