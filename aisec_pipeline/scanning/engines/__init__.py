"""Third-party engines run on the same pickle-opcode ranges the own analyser walked."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..context import ScanContext
from ..streams import SkippingReader, SplicedReader
from . import modelscan_engine, picklescan_engine

ENGINES = (picklescan_engine, modelscan_engine)


def opcode_view(raw: BinaryIO, segments: list[tuple[int, int]]) -> SkippingReader:
    """Only the opcode ranges of `raw`, as one stream (a plain window when there is one range)."""
    if len(segments) == 1:
        return SkippingReader(raw, *segments[0])
    return SplicedReader(raw, segments)


def scan_pickle_ranges(
    open_stream: Callable[[], BinaryIO], segments: list[tuple[int, int]], ctx: ScanContext, label: str
) -> None:
    if not segments:
        return
    for engine in ENGINES:
        with ctx.guard(engine.NAME, label), open_stream() as raw:
            engine.scan_pickle(opcode_view(raw, segments), ctx, label)
