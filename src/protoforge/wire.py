"""Reading protobuf's wire format by hand, where the protobuf runtime is either too slow to import
(check-breaking's start-up reads the file names of a descriptor set) or cannot decode the bytes
(extension options whose generated module gen never imports)."""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def varint(data: bytes, position: int) -> tuple[int, int]:
    """(value, position after it) of the varint at `position`; IndexError if it is cut off."""
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def fields(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(field number, wire type, where its value starts) of each field of the serialized message
    in `data[start:end]` (`length_delimited` gives a length-delimited value's bytes). Raises
    ValueError at a group or an unknown wire type (never in what protoc writes for descriptors
    and options) and IndexError on truncated bytes."""
    position, stop = start, len(data) if end is None else end
    while position < stop:
        tag, position = varint(data, position)
        number, wire_type = tag >> 3, tag & 7
        yield number, wire_type, position
        if wire_type == VARINT:
            _, position = varint(data, position)
        elif wire_type == FIXED64:
            position += 8
        elif wire_type == LENGTH_DELIMITED:
            length, position = varint(data, position)
            position += length
        elif wire_type == FIXED32:
            position += 4
        else:
            raise ValueError(f"wire type {wire_type} (a group or not protobuf)")


def length_delimited(data: bytes, value_start: int) -> tuple[int, int]:
    """(start, end) of the bytes of the length-delimited value whose length is at `value_start`."""
    length, start = varint(data, value_start)
    return start, start + length
