"""The part of caffe.proto a VGG .caffemodel uses, as messages of the protobuf package (built at run time).

For the tests only: the protobuf package's own parser checks that tests/synthetic_caffe.py writes what
caffe.proto says, and its own serializer writes files our streaming reader must read. Field numbers
and types are BVLC/caffe src/caffe/proto/caffe.proto's; V1LayerParameter's `type` enum is declared as
an int32 (the same varint on the wire). ``packed=False`` declares `data` unpacked, which makes the
serializer write one record per value.
"""

from __future__ import annotations

from typing import Any

OPTIONAL, REPEATED = 1, 3
INT64, INT32, UINT32, FLOAT, DOUBLE, STRING, MESSAGE = 3, 5, 13, 2, 1, 9, 11

# message: [(name, number, label, type, message type or None, packed)]
MESSAGES = {
    "BlobShape": [("dim", 1, REPEATED, INT64, None, True)],
    "BlobProto": [
        ("num", 1, OPTIONAL, INT32, None, False),
        ("channels", 2, OPTIONAL, INT32, None, False),
        ("height", 3, OPTIONAL, INT32, None, False),
        ("width", 4, OPTIONAL, INT32, None, False),
        ("data", 5, REPEATED, FLOAT, None, "data"),
        ("shape", 7, OPTIONAL, MESSAGE, "BlobShape", False),
        ("double_data", 8, REPEATED, DOUBLE, None, True),
    ],
    "ConvolutionParameter": [
        ("num_output", 1, OPTIONAL, UINT32, None, False),
        ("pad", 3, REPEATED, UINT32, None, False),
        ("kernel_size", 4, REPEATED, UINT32, None, False),
    ],
    "V1LayerParameter": [
        ("bottom", 2, REPEATED, STRING, None, False),
        ("top", 3, REPEATED, STRING, None, False),
        ("name", 4, OPTIONAL, STRING, None, False),
        ("type", 5, OPTIONAL, INT32, None, False),
        ("blobs", 6, REPEATED, MESSAGE, "BlobProto", False),
        ("convolution_param", 10, OPTIONAL, MESSAGE, "ConvolutionParameter", False),
    ],
    "LayerParameter": [
        ("name", 1, OPTIONAL, STRING, None, False),
        ("type", 2, OPTIONAL, STRING, None, False),
        ("bottom", 3, REPEATED, STRING, None, False),
        ("top", 4, REPEATED, STRING, None, False),
        ("blobs", 7, REPEATED, MESSAGE, "BlobProto", False),
        ("convolution_param", 106, OPTIONAL, MESSAGE, "ConvolutionParameter", False),
    ],
    "NetParameter": [
        ("name", 1, OPTIONAL, STRING, None, False),
        ("layers", 2, REPEATED, MESSAGE, "V1LayerParameter", False),
        ("input", 3, REPEATED, STRING, None, False),
        ("input_dim", 4, REPEATED, INT32, None, False),
        ("input_shape", 8, REPEATED, MESSAGE, "BlobShape", False),
        ("layer", 100, REPEATED, MESSAGE, "LayerParameter", False),
    ],
}


def caffe_messages(packed: bool = True) -> dict[str, Any]:
    """{message name: class} in a descriptor pool of their own; ImportError without the protobuf package."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    name = f"caffe_subset_{'packed' if packed else 'unpacked'}.proto"
    file = descriptor_pb2.FileDescriptorProto(name=name, package="caffe", syntax="proto2")
    for message, fields in MESSAGES.items():
        proto = file.message_type.add(name=message)
        for field, number, label, kind, type_name, packing in fields:
            entry = proto.field.add(name=field, number=number, label=label, type=kind)
            if type_name:
                entry.type_name = f".caffe.{type_name}"
            if packing == "data" and packed or packing is True:
                entry.options.packed = True
            elif packing == "data":
                entry.options.packed = False
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {m: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"caffe.{m}")) for m in MESSAGES}
