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


@dataclass(frozen=True)
class Source:
    """Bytes to scan: a whole file (``path`` set) or a member of an archive (``path`` None)."""

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

    def add(self, engine: str, severity: str, rule: str, detail: str) -> None:
        finding = Finding(engine, severity, rule, detail)
        if finding not in self.findings:
            self.findings.append(finding)

    def error(self, engine: str, rule: str, detail: str) -> None:
        self.add(engine, "high", f"error.{rule}", detail)

    @contextmanager
    def guard(self, engine: str, label: str) -> Iterator[None]:
        """An engine that crashes yields an error finding, never silence."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - any failure must become a finding
            log.debug("%s failed on %s", engine, label, exc_info=True)
            self.error(engine, "engine-failed", f"{label}: {type(exc).__name__}: {exc}")
