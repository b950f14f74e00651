"""Raw pickle streams (any name), including legacy (non-zip) torch files and joblib dumps."""

from __future__ import annotations

from ..context import ScanContext, Source, inner
from ..engines import scan_pickle_streams
from ..pickle_analysis import PickleWalker, Ranges, StreamWalk, looks_like_pickle
from ..streams import SkippingReader
from . import torch_legacy


def scan(source: Source, ctx: ScanContext) -> str:
    with source.open() as raw:
        reader = SkippingReader(raw)
        first = PickleWalker(ctx, source.label).run(reader)
        streams = first.streams()
        if torch_legacy.is_magic(first):
            kind = "torch-legacy"
            streams += torch_legacy.scan_rest(reader, ctx, source.label)
        else:
            kind = "pickle"
            streams += scan_after_stop(reader, first, ctx, source.label)
    scan_pickle_streams(source.open, streams, ctx, source.label)
    return kind


def scan_after_stop(reader: SkippingReader, walk: StreamWalk, ctx: ScanContext, label: str) -> list[Ranges]:
    """Whatever follows a complete stream is a finding; further pickles are walked too."""
    streams: list[Ranges] = []
    while walk.complete and reader.remaining() > 0:
        offset = reader.tell()
        head = reader.read(64)
        reader.seek(offset)
        if not looks_like_pickle(head):
            ctx.flag("pickle.trailing-data", f"{reader.remaining()} bytes after the pickle's STOP at offset {offset}", label)
            break
        ctx.flag("pickle.stacked", f"another pickle stream starts at offset {offset}", label)
        walk = PickleWalker(ctx, inner(label, f"pickle at offset {offset}")).run(reader)
        streams += walk.streams()
    return streams
