"""The common interface of format modules: `scan(source, ctx) -> format name`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from ..context import ScanContext, Source

ENGINE = "aisec"


class FormatScanner(Protocol):
    def __call__(self, source: Source, ctx: ScanContext) -> str:
        """Add findings for `source` to `ctx`; return the (possibly refined) format name."""


def nested_dicts(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping inside a parsed JSON/YAML document, with its path ($.a[0].b), walked
    without recursion so a deeply nested config cannot exhaust the stack."""
    stack = [(where, node)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            yield where, node
            stack.extend((f"{where}.{key}", value) for key, value in node.items() if isinstance(value, (dict, list)))
        elif isinstance(node, list):
            stack.extend((f"{where}[{index}]", value) for index, value in enumerate(node) if isinstance(value, (dict, list)))
