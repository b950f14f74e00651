"""Raw pickle streams (any name), including legacy (non-zip) torch files and joblib dumps."""

from __future__ import annotations

from ..context import ScanContext, Source
from ..engines import scan_pickle_ranges
from ..pickle_analysis import PickleWalker, StreamWalk, looks_like_pickle
from ..streams import SkippingReader
from . import torch_legacy
from .base import ENGINE


def scan(source: Source, ctx: ScanContext) -> str:
    with source.open() as raw:
        reader = SkippingReader(raw)
        first = PickleWalker(ctx, source.label).run(reader)
        segments = list(first.segments)
        if torch_legacy.is_magic(first):
            kind = "torch-legacy"
            segments += torch_legacy.scan_rest(reader, ctx, source.label)
        else:
            kind = "pickle"
            segments += scan_after_stop(reader, first, ctx, source.label)
    scan_pickle_ranges(source.open, segments, ctx, source.label)
    return kind


def scan_after_stop(reader: SkippingReader, walk: StreamWalk, ctx: ScanContext, label: str) -> list[tuple[int, int]]:
    """Whatever follows a complete stream is a finding; further pickles are walked too."""
    segments: list[tuple[int, int]] = []
    while walk.complete and reader.remaining() > 0:
        offset = reader.tell()
        head = reader.read(64)
        reader.seek(offset)
        if not looks_like_pickle(head):
            ctx.add(ENGINE, "high", "pickle.trailing-data",
                    f"{label}: {reader.remaining()} bytes after the pickle's STOP at offset {offset}")
            break
        ctx.add(ENGINE, "high", "pickle.stacked", f"{label}: another pickle stream starts at offset {offset}")
        walk = PickleWalker(ctx, f"{label}@{offset}").run(reader)
        segments += walk.segments
    return segments
