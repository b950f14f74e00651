"""One module per format behind `scan(source, ctx) -> format name`; dispatch is by content."""

from __future__ import annotations

import os
from pathlib import Path

from ..context import ScanContext, Source
from ..sniff import SNIFF_BYTES, sniff
from .base import ENGINE, FormatScanner


def _scanners() -> dict[str, FormatScanner]:
    from . import gguf_file, hdf5_file, npy_file, pickle_file, safetensors_file, savedmodel, zip_file

    return {
        "zip": zip_file.scan,
        "npy": npy_file.scan,
        "hdf5": hdf5_file.scan,
        "gguf": gguf_file.scan,
        "safetensors": safetensors_file.scan,
        "pickle": pickle_file.scan,
        "savedmodel": savedmodel.scan,
        "keras-metadata": savedmodel.scan_keras_metadata,
        "7z": _unsupported_7z,
    }


def _unsupported_7z(source: Source, ctx: ScanContext) -> str:
    ctx.flag("7z.unsupported", "7z containers are not supported: unpack the archive and scan its members", source.label)
    return "7z"


def read_head(source: Source, count: int = SNIFF_BYTES) -> bytes:
    with source.open() as stream:
        return stream.read(count)


def scan_source(source: Source, ctx: ScanContext) -> str:
    """Sniff `source` and run its format scanner; an unknown format is an error finding."""
    head = read_head(source)
    kind = sniff(head)
    scanner = _scanners().get(kind)
    if scanner is None and source.path is not None:
        from . import savedmodel

        companion = savedmodel.companion_kind(Path(os.path.abspath(source.path)))
        if companion is not None:
            with ctx.guard(ENGINE, source.label):
                return savedmodel.scan_companion(companion, source, ctx)
            return companion
    if scanner is None:
        ctx.error(ENGINE, "unknown-format",
                  f"content matches no supported model format (starts with {head[:8].hex()})", source.label)
        return "unknown"
    with ctx.guard(ENGINE, source.label):
        return scanner(source, ctx)
    return kind
