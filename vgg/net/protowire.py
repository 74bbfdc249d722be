"""Protocol Buffers' wire format, read from a file record by record, so that large fields can be skipped unread.

The protobuf package parses a whole message from one bytes object (``ParseFromString``); a 575 MB
.caffemodel of which 495 MB are fully connected weights would be read whole and parsed whole. Here a
message is a run of records: a tag (a varint, ``field_number << 3 | wire_type``) and a value; a LEN
value (strings, bytes, embedded messages, packed repeated fields) is given as where it is and how long,
and the caller reads it or seeks past it. The rules are those of protobuf's encoding guide
(protobuf.dev/programming-guides/encoding): varints are little-endian base-128, at most 10 bytes; an
I32 value is 4 bytes, an I64 8; groups (wire types 3 and 4) are deprecated and not read here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_FIXED = {I64: 8, I32: 4}
MAX_VARINT_BYTES = 10


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message; the message says at which byte."""


class TruncatedError(WireError):
    """A record runs past the end of its message or of the file."""


@dataclass(frozen=True)
class Record:
    """One field of a message: its number and wire type; ``value`` for VARINT (an int, else None); for the others
    ``offset`` and ``length`` of the value's bytes in the stream (for LEN the payload after its length)."""

    number: int
    wire: int
    value: int | None
    offset: int
    length: int


def read_varint(stream: BinaryIO, end: int) -> int:
    """The varint at the stream's position (which it moves past); WireError when it is not one."""
    start, value = stream.tell(), 0
    for shift in range(0, 7 * MAX_VARINT_BYTES, 7):
        if stream.tell() >= end:
            raise TruncatedError(f"a varint at byte {start} runs past the end (byte {end})")
        byte = stream.read(1)
        if not byte:
            raise TruncatedError(f"a varint at byte {start} runs past the end of the file")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
    raise WireError(f"a varint at byte {start} is longer than {MAX_VARINT_BYTES} bytes")


def read_record(stream: BinaryIO, position: int, end: int) -> tuple[Record, int]:
    """The record at ``position`` of a message that ends at ``end``, and where the next one starts. A LEN or
    I64/I32 value is not read (the caller reads the payload it wants with read_bytes)."""
    stream.seek(position)
    tag = read_varint(stream, end)
    number, wire = tag >> 3, tag & 7
    if number == 0:
        raise WireError(f"field number 0 at byte {position}")
    if wire == VARINT:
        value = read_varint(stream, end)
        return Record(number, wire, value, position, 0), stream.tell()
    if wire == LEN:
        length = read_varint(stream, end)
    elif wire in _FIXED:
        length = _FIXED[wire]
    else:
        raise WireError(f"wire type {wire} (field {number}) at byte {position}: not a type this reader knows")
    offset = stream.tell()
    if offset + length > end:
        raise TruncatedError(
            f"field {number} at byte {position} runs to byte {offset + length}, past the end (byte {end})"
        )
    return Record(number, wire, None, offset, length), offset + length


def records(stream: BinaryIO, start: int, end: int) -> Iterator[Record]:
    """The records of the message in bytes [start, end) of the stream; payloads are left unread (seeked past)."""
    position = start
    while position < end:
        record, position = read_record(stream, position, end)
        yield record


def read_bytes(stream: BinaryIO, record: Record) -> bytes:
    """A LEN record's payload; TruncatedError when the file ends first."""
    stream.seek(record.offset)
    payload = stream.read(record.length)
    if len(payload) != record.length:
        raise TruncatedError(
            f"field {record.number} at byte {record.offset} ends after {len(payload)} of "
            f"{record.length} bytes: the file is cut short"
        )
    return payload


def packed_varints(payload: bytes) -> list[int]:
    """The values of a packed repeated varint field."""
    stream, values = io.BytesIO(payload), []
    while stream.tell() < len(payload):
        values.append(read_varint(stream, len(payload)))
    return values


def fixed_run(payload: bytes, position: int, tag: int, dtype: str) -> tuple[np.ndarray, int]:
    """The values of consecutive unpacked I32/I64 records with the same one-byte ``tag`` from ``position`` on
    (each a tag byte then the value), read as ``dtype``; and where the run ends. Vectorised: an unpacked
    repeated float is one record per value, millions of them in a weight blob."""
    size = np.dtype(dtype).itemsize
    rows = (len(payload) - position) // (size + 1)
    table = np.frombuffer(payload, np.uint8, rows * (size + 1), position).reshape(rows, size + 1)
    other = np.flatnonzero(table[:, 0] != tag)
    count = int(other[0]) if other.size else rows
    values = np.ascontiguousarray(table[:count, 1:]).view(dtype).reshape(-1)
    return values, position + count * (size + 1)
