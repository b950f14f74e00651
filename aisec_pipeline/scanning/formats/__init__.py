"""One module per format behind `scan(source, ctx) -> format name`; dispatch is by content."""

from __future__ import annotations

from ..context import ScanContext, Source
from ..sniff import SNIFF_BYTES, sniff
from .base import ENGINE, FormatScanner


def _scanners() -> dict[str, FormatScanner]:
    from . import gguf_file, hdf5_file, npy_file, pickle_file, safetensors_file, zip_file

    return {
        "zip": zip_file.scan,
        "npy": npy_file.scan,
        "hdf5": hdf5_file.scan,
        "gguf": gguf_file.scan,
        "safetensors": safetensors_file.scan,
        "pickle": pickle_file.scan,
    }


def read_head(source: Source, count: int = SNIFF_BYTES) -> bytes:
    with source.open() as stream:
        return stream.read(count)


def scan_source(source: Source, ctx: ScanContext) -> str:
    """Sniff `source` and run its format scanner; an unknown format is an error finding."""
    head = read_head(source)
    kind = sniff(head)
    scanner = _scanners().get(kind)
    if scanner is None:
        ctx.error(ENGINE, "unknown-format",
                  f"content matches no supported model format (starts with {head[:8].hex()})", source.label)
        return "unknown"
    with ctx.guard(ENGINE, source.label):
        return scanner(source, ctx)
    return kind
