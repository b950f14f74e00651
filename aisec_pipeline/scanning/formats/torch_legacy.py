"""Legacy torch files: five pickles (magic, protocol, sys info, data, storage keys), then each
storage as an int64 element count and raw bytes. The raw part is checked for exact length."""

from __future__ import annotations

import struct

from ..context import ScanContext, inner
from ..pickle_analysis import Global, PickleWalker, Ranges, StreamWalk
from ..streams import SkippingReader, skip_forward
from .base import ENGINE

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PICKLES_AFTER_MAGIC = 4
ELEMENT_SIZES = {
    "Float": 4, "Double": 8, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2, "Char": 1,
    "Byte": 1, "Bool": 1, "ComplexFloat": 8, "ComplexDouble": 16, "QUInt8": 1, "QInt8": 1,
    "QInt32": 4, "QUInt4x2": 1, "QUInt2x4": 1, "Untyped": 1,
}


def is_magic(walk: StreamWalk) -> bool:
    return walk.complete and type(walk.value) is int and walk.value == MAGIC_NUMBER


def scan_rest(reader: SkippingReader, ctx: ScanContext, label: str) -> list[Ranges]:
    """Walk the pickles after the magic number and check the raw storages; returns the streams."""
    streams: list[Ranges] = []
    walks = []
    for index in range(PICKLES_AFTER_MAGIC):
        walk = PickleWalker(ctx, inner(label, f"pickle {index + 2}")).run(reader)
        streams += walk.streams()
        walks.append(walk)
        if not walk.complete:
            return streams
    data, keys = walks[2], walks[3].value
    sizes = _element_sizes(data.persistent_ids)
    if not isinstance(keys, list) or not all(isinstance(k, str) and k in sizes for k in keys):
        ctx.error(ENGINE, "unresolvable-storage", "storage keys do not match the tensors' persistent ids", label)
        return streams
    for key in keys:
        count_bytes = reader.read(8)
        count = struct.unpack("<q", count_bytes)[0] if len(count_bytes) == 8 else -1
        wanted = count * sizes[key]
        if count < 0 or skip_forward(reader, wanted) < wanted:
            ctx.error(ENGINE, "truncated-file", f"storage {key} is cut short", label)
            return streams
    if reader.remaining() > 0:
        ctx.flag("pickle.trailing-data", f"{reader.remaining()} unexpected bytes after the last storage", label)
    return streams


def _element_sizes(persistent_ids: list[object]) -> dict[str, int]:
    """storage key -> bytes per element, from ('storage', torch.<Kind>Storage, key, location, numel)."""
    sizes = {}
    for pid in persistent_ids:
        if isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage" and isinstance(pid[1], Global):
            kind = pid[1].name.removesuffix("Storage")
            if kind in ELEMENT_SIZES and isinstance(pid[2], str):
                sizes[pid[2]] = ELEMENT_SIZES[kind]
    return sizes
