"""The common interface of format modules: `scan(source, ctx) -> format name`."""

from __future__ import annotations

from typing import Protocol

from ..context import ScanContext, Source

ENGINE = "aisec"


class FormatScanner(Protocol):
    def __call__(self, source: Source, ctx: ScanContext) -> str:
        """Add findings for `source` to `ctx`; return the (possibly refined) format name."""
