"""Third-party engines run on the same pickle-opcode ranges the own analyser walked.

Each pickle stream (a memo scope) is given to each engine on its own: picklescan and modelscan
keep one memo across the pickles of a stream they are handed, so stacked or nested streams
spliced together would resolve memo references against the wrong stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..context import ScanContext
from ..pickle_analysis import Ranges
from ..streams import SkippingReader, SplicedReader
from . import modelscan_engine, picklescan_engine

ENGINES = (picklescan_engine, modelscan_engine)


def opcode_view(raw: BinaryIO, segments: Ranges) -> SkippingReader:
    """Only the opcode ranges of `raw`, as one stream (a plain window when there is one range)."""
    if len(segments) == 1:
        return SkippingReader(raw, *segments[0])
    return SplicedReader(raw, segments)


def scan_pickle_streams(
    open_stream: Callable[[], BinaryIO], streams: list[Ranges], ctx: ScanContext, where: str
) -> None:
    """Run every engine over each stream; `streams` holds one list of opcode ranges per stream."""
    streams = [ranges for ranges in streams if any(end > start for start, end in ranges)]
    for engine in ENGINES:
        with ctx.guard(engine.NAME, where), open_stream() as raw:
            for ranges in streams:
                engine.scan_pickle(opcode_view(raw, ranges), ctx, where)
