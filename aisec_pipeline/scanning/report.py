"""Plain result types of a scan: one `Finding` per observation, one `FileReport` per file.

A finding whose rule starts with ``error.`` means "could not be scanned" (fail closed); any other
critical/high finding means "unsafe". Medium/low findings are recorded but do not block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low")
BLOCKING_SEVERITIES = frozenset({"critical", "high"})
ERROR_PREFIX = "error."


@dataclass(frozen=True)
class Finding:
    engine: str
    severity: str
    rule: str
    detail: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def is_error(self) -> bool:
        return self.rule.startswith(ERROR_PREFIX)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class FileReport:
    path: str
    sha256: str
    format: str
    verdict: str
    findings: list[Finding] = field(default_factory=list)
    trusted_types_used: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [f.to_dict() for f in self.findings]
        return data


def verdict_of(findings: list[Finding]) -> str:
    """unsafe beats error beats safe: a real threat must never hide behind a parse error."""
    if any(f.severity in BLOCKING_SEVERITIES and not f.is_error for f in findings):
        return "unsafe"
    if any(f.is_error for f in findings):
        return "error"
    return "safe"
