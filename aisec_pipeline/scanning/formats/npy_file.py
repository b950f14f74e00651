"""numpy .npy: the header dict is parsed with ast.literal_eval (numpy.load is never called).
An object dtype means the payload is a pickle: it is flagged and scanned."""

from __future__ import annotations

import ast
import math
import struct
from typing import Any

from ..context import ScanContext, Source, inner
from ..engines import scan_pickle_streams
from ..pickle_analysis import PickleWalker
from ..streams import SkippingReader
from .base import ENGINE

MAX_HEADER = 65536
SIZED_KINDS = frozenset("biufcSVMm?")


def scan(source: Source, ctx: ScanContext) -> str:
    with source.open() as stream:
        header = _read_header(stream, source, ctx)
        data_start = stream.tell()
    if header is None:
        return "npy"
    descr, shape = header.get("descr"), header.get("shape")
    if _holds_objects(descr):
        ctx.flag("numpy.object-dtype", "object array: its payload is a pickle", source.label)
        _scan_object_payload(source, data_start, ctx)
        return "npy"
    itemsize = _itemsize(descr)
    if itemsize is None or not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        ctx.error(ENGINE, "unparseable-npy", f"unsupported descr {descr!r} or shape {shape!r}", source.label)
        return "npy"
    expected = math.prod(shape) * itemsize
    actual = source.size - data_start
    if actual != expected:
        ctx.flag("numpy.size-mismatch", f"header promises {expected} data bytes, file holds {actual}", source.label)
    return "npy"


def _read_header(stream: Any, source: Source, ctx: ScanContext) -> dict[str, Any] | None:
    prefix = stream.read(8)
    major = prefix[6] if len(prefix) == 8 else 0
    length_format = {1: "<H", 2: "<I", 3: "<I"}.get(major)
    if length_format is None:
        ctx.error(ENGINE, "unparseable-npy", f"unsupported .npy version {major}", source.label)
        return None
    length_bytes = stream.read(struct.calcsize(length_format))
    length = struct.unpack(length_format, length_bytes)[0] if len(length_bytes) == struct.calcsize(length_format) else -1
    if not 0 < length <= MAX_HEADER:
        ctx.flag("numpy.bad-header", f"header length {length} is not plausible", source.label)
        return None
    try:
        header = ast.literal_eval(stream.read(length).decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        ctx.flag("numpy.bad-header", f"header is not a literal dict ({exc})", source.label)
        return None
    if not isinstance(header, dict) or {"descr", "fortran_order", "shape"} - header.keys():
        ctx.flag("numpy.bad-header", "header lacks descr/fortran_order/shape", source.label)
        return None
    return header


def _holds_objects(descr: Any) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, (list, tuple)):
        return any(_holds_objects(part) for part in descr)
    return False


def _itemsize(descr: Any) -> int | None:
    """Bytes per element of a plain or structured descr, None when it cannot be read."""
    if isinstance(descr, str):
        body = descr.lstrip("<>|=")
        kind, digits = body[:1], body[1:]
        if kind == "U" and digits.isdigit():
            return 4 * int(digits)
        if kind in SIZED_KINDS and digits.isdigit():
            return int(digits)
        if kind in ("b", "?") and not digits:
            return 1
        return None
    if isinstance(descr, list):
        sizes = [_field_size(part) for part in descr]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]
    return None


def _field_size(part: Any) -> int | None:
    if not isinstance(part, tuple) or len(part) not in (2, 3):
        return None
    size = _itemsize(part[1])
    if size is None or len(part) == 2:
        return size
    shape = part[2] if isinstance(part[2], tuple) else (part[2],)
    return size * math.prod(shape) if all(isinstance(n, int) and n >= 0 for n in shape) else None


def _scan_object_payload(source: Source, start: int, ctx: ScanContext) -> None:
    from .pickle_file import scan_after_stop

    label = inner(source.label, "object payload")
    with source.open() as raw:
        reader = SkippingReader(raw, start)
        walk = PickleWalker(ctx, label).run(reader)
        relative = walk.streams() + scan_after_stop(reader, walk, ctx, label)
    streams = [[(a + start, b + start) for a, b in ranges] for ranges in relative]
    scan_pickle_streams(source.open, streams, ctx, label)
