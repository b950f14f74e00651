"""A small protobuf wire-format reader (varints and length-delimited fields), enough to walk
TensorFlow SavedModel and Keras metadata messages without TensorFlow or generated classes."""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
SAVED_MODEL_START = b"\x08\x01\x12"  # saved_model_schema_version = 1, then meta_graphs
KERAS_METADATA_MARK = b"_tf_keras"
Field = tuple[int, int, "int | memoryview"]


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def sniff_protobuf(head: bytes) -> str | None:
    """"savedmodel" or "keras-metadata" when `head` starts like one, else None."""
    if head.startswith(SAVED_MODEL_START):
        return "savedmodel"
    if head[:1] == b"\x0a" and KERAS_METADATA_MARK in head:
        return "keras-metadata"
    return None


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(buf: bytes | memoryview) -> Iterator[Field]:
    """(field number, wire type, value) for each field; a LEN value is a memoryview slice."""
    view = memoryview(buf)
    pos = 0
    while pos < len(view):
        key, pos = _varint(view, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at offset {pos}")
        if wire == VARINT:
            value, pos = _varint(view, pos)
            yield number, wire, value
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if pos + size > len(view):
                raise WireError("truncated fixed-width field")
            yield number, wire, int.from_bytes(view[pos:pos + size], "little")
            pos += size
        elif wire == LEN:
            length, pos = _varint(view, pos)
            if pos + length > len(view):
                raise WireError(f"field {number} declares {length} bytes past the end")
            yield number, wire, view[pos:pos + length]
            pos += length
        else:
            raise WireError(f"unsupported wire type {wire}")


def submessages(buf: bytes | memoryview, number: int) -> Iterator[memoryview]:
    for field, wire, value in fields(buf):
        if field == number and wire == LEN:
            assert isinstance(value, memoryview)
            yield value


def strings(buf: bytes | memoryview, number: int) -> Iterator[str]:
    for value in submessages(buf, number):
        yield bytes(value).decode("utf-8", errors="replace")


def walk(buf: bytes | memoryview, path: tuple[int, ...]) -> Iterator[memoryview]:
    """Every length-delimited value reached by following field numbers `path` from `buf`."""
    if not path:
        yield memoryview(buf)
        return
    for child in submessages(buf, path[0]):
        yield from walk(child, path[1:])


def check_wellformed(buf: bytes | memoryview) -> None:
    """Raise WireError unless `buf` parses as one top-level message."""
    for _ in fields(buf):
        pass
