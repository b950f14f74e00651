"""The one verdict shape every evidence kind ends in.

The decision only combines verdicts under the model's tier policy; it never re-derives them.
UNASSESSED is never PASSED: anything that could not be measured blocks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    UNASSESSED = "unassessed"


@dataclass(frozen=True)
class Verdict:
    kind: str
    status: Status
    reasons: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @classmethod
    def unassessed(cls, kind: str, reason: str, **figures: Any) -> "Verdict":
        return cls(kind, Status.UNASSESSED, (reason,), dict(figures))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status.value,
            "reasons": list(self.reasons),
            "figures": self.figures,
            "attachments": self.attachments,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Verdict":
        return cls(
            kind=str(data["kind"]),
            status=Status(data["status"]),
            reasons=tuple(data.get("reasons", ())),
            figures=dict(data.get("figures", {})),
            attachments=dict(data.get("attachments", {})),
        )


_SEVERITY = {Status.PASSED: 0, Status.UNASSESSED: 1, Status.FAILED: 2}


def worst_status(*statuses: Status) -> Status:
    return max(statuses, key=_SEVERITY.__getitem__)


def combine(kind: str, parts: list[Verdict]) -> Verdict:
    """One verdict from several: the worst status wins, every reason and figure is kept."""
    if not parts:
        return Verdict.unassessed(kind, f"{kind}: nothing was assessed")
    status = max((p.status for p in parts), key=_SEVERITY.__getitem__)
    reasons = tuple(r for p in parts for r in p.reasons)
    figures = {p.kind: p.figures for p in parts}
    attachments = {k: v for p in parts for k, v in p.attachments.items()}
    return Verdict(kind, status, reasons, figures, attachments)
