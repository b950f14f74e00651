"""What one file scan accumulates, shared by every format module and engine."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

from .report import Finding

log = logging.getLogger(__name__)
MAX_ARCHIVE_DEPTH = 3


def inner(where: str, part: str) -> str:
    """Location of `part` inside `where` ("" is the scanned file itself)."""
    return f"{where} > {part}" if where else part


@dataclass(frozen=True)
class Source:
    """Bytes to scan: a whole file (``path`` set) or a member of an archive (``path`` None).

    ``label`` locates the bytes inside the scanned file ("" for the file itself), so findings
    never repeat the file's path: the report that holds them already names the file.
    """

    label: str
    open: Callable[[], BinaryIO]
    size: int
    path: str | None = None


@dataclass
class ScanContext:
    trusted_types: frozenset[str] = frozenset()
    findings: list[Finding] = field(default_factory=list)
    trusted_types_used: set[str] = field(default_factory=set)
    depth: int = 0
    # Inside a TorchScript archive: torch's C++ unpickler resolves `__torch__.*` to classes compiled
    # from the archive's code/ and `torch.jit._pickle.*` to its own list builders; it imports nothing.
    torchscript: bool = False

    def add(self, engine: str, severity: str, rule: str, detail: str, where: str = "") -> None:
        """Record a finding; `where` locates it inside the file (a member, a nested stream)."""
        finding = Finding(engine, severity, rule, f"{where}: {detail}" if where else detail)
        if finding not in self.findings:
            self.findings.append(finding)

    def flag(self, rule_id: str, detail: str, where: str = "", engine: str = "aisec") -> None:
        """Record a finding of a catalogued rule, with the catalogue's severity."""
        from .rules import severity_of

        self.add(engine, severity_of(rule_id), rule_id, detail, where)

    def error(self, engine: str, rule: str, detail: str, where: str = "") -> None:
        self.add(engine, "high", f"error.{rule}", detail, where)

    @contextmanager
    def guard(self, engine: str, where: str) -> Iterator[None]:
        """An engine that crashes yields an error finding, never silence."""
        try:
            yield
        except Exception as exc:  # any failure must become a finding (logged above, so no blind except)
            log.debug("%s failed on %r", engine, where, exc_info=True)
            self.error(engine, "engine-failed", f"{type(exc).__name__}: {exc}", where)
