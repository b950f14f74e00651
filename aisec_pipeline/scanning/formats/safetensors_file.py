"""safetensors: a u64 header length, a JSON header, then the data section. Every claim of the
header is checked against the file: length, JSON, offsets, ordering, dtype x shape sizes."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from ..context import ScanContext, Source

MAX_HEADER = 100 * 1024 * 1024
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64, "I64": 64, "U64": 64,
    "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}


def scan(source: Source, ctx: ScanContext) -> str:
    parsed = _read_header(source, ctx)
    if parsed is not None:
        header, data_start = parsed
        _check_tensors(header, source.size - data_start, source.label, ctx)
    return "safetensors"


def _bad(ctx: ScanContext, rule: str, detail: str, where: str) -> None:
    ctx.flag(f"safetensors.{rule}", detail, where)


def _read_header(source: Source, ctx: ScanContext) -> tuple[dict[str, Any], int] | None:
    with source.open() as stream:
        length = struct.unpack("<Q", stream.read(8))[0]
        if length > MAX_HEADER or length > source.size - 8:
            _bad(ctx, "header-length", f"header length {length} exceeds the file or the {MAX_HEADER} byte cap", source.label)
            return None
        raw = stream.read(length)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        _bad(ctx, "invalid-json", f"header is not valid JSON ({exc})", source.label)
        return None
    if not isinstance(header, dict):
        _bad(ctx, "invalid-json", "header is not a JSON object", source.label)
        return None
    return header, 8 + length


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys")
    return dict(pairs)


def _check_tensors(header: dict[str, Any], data_size: int, label: str, ctx: ScanContext) -> None:
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        _bad(ctx, "bad-entry", "__metadata__ must map strings to strings", label)
    spans = []
    for name, entry in header.items():
        span = _tensor_span(name, entry, data_size, label, ctx)
        if span is not None:
            spans.append((span, name))
    _check_layout(sorted(spans), data_size, label, ctx)


def _tensor_span(name: str, entry: Any, data_size: int, label: str, ctx: ScanContext) -> tuple[int, int] | None:
    if not isinstance(entry, dict) or entry.get("dtype") not in DTYPE_BITS:
        _bad(ctx, "bad-entry", f"tensor {name!r} has no known dtype", label)
        return None
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not _ints(shape) or not _ints(offsets) or len(offsets) != 2:
        _bad(ctx, "bad-entry", f"tensor {name!r} needs an integer shape and two data_offsets", label)
        return None
    start, end = offsets
    if start > end or end > data_size:
        _bad(ctx, "offsets-out-of-bounds", f"tensor {name!r} spans [{start}, {end}) outside the {data_size} byte data section", label)
        return None
    expected = math.ceil(math.prod(shape) * DTYPE_BITS[entry["dtype"]] / 8)
    if expected != end - start:
        _bad(ctx, "size-mismatch", f"tensor {name!r} is {entry['dtype']} {shape} = {expected} bytes but spans {end - start}", label)
    return start, end


def _ints(value: Any) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)


def _check_layout(spans: list[tuple[tuple[int, int], str]], data_size: int, label: str, ctx: ScanContext) -> None:
    """Tensors must tile the data section: no overlap, no gap, nothing after the last one."""
    cursor = 0
    for (start, end), name in spans:
        if start < cursor:
            _bad(ctx, "offsets-overlap", f"tensor {name!r} overlaps the previous tensor", label)
        elif start > cursor:
            _bad(ctx, "offsets-gap", f"{start - cursor} unaccounted bytes before tensor {name!r}", label)
        cursor = max(cursor, end)
    if cursor != data_size:
        _bad(ctx, "trailing-data", f"{data_size - cursor} bytes after the last tensor", label)
