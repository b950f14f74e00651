"""The deployment decision: combine evidence verdicts under the model's tier policy.

It never re-derives evidence. Approved only when every required kind is present, passed and
fresh; anything missing, unassessed, failed or stale blocks, with a reason a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from ..inventory import Model
from ..inventory.schema import EuAiActCategory
from ..verdict import Status, Verdict
from .policy import Policy

EVALUATED_AT = "evaluated_at"  # figures key every evidence asset stamps (ISO 8601, UTC)


@dataclass(frozen=True)
class Decision:
    model: str
    version: str
    tier: str
    approved: bool
    reasons: tuple[str, ...]
    evidence: dict[str, str] = field(default_factory=dict)  # kind -> status
    decided_at: str = ""

    @property
    def label(self) -> str:
        return "approved" if self.approved else "blocked"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.model, "version": self.version, "tier": self.tier,
                "decision": self.label, "reasons": list(self.reasons),
                "evidence": dict(self.evidence), "decided_at": self.decided_at}


def stamp(verdict: Verdict, now: datetime | None = None) -> Verdict:
    """The verdict with its evaluation time recorded, for freshness checks."""
    now = now or datetime.now(timezone.utc)
    return Verdict(verdict.kind, verdict.status, verdict.reasons,
                   {**verdict.figures, EVALUATED_AT: now.isoformat()}, verdict.attachments)


def evidence_age_hours(verdict: Verdict, now: datetime) -> float | None:
    stamp_text = verdict.figures.get(EVALUATED_AT)
    try:
        evaluated = datetime.fromisoformat(stamp_text)
    except (TypeError, ValueError):
        return None
    return (now - evaluated).total_seconds() / 3600


def evidence_problems(kind: str, verdict: Verdict | None, max_age_hours: int,
                      now: datetime) -> list[str]:
    if verdict is None:
        return [f"{kind}: not assessed (required by policy, no evidence produced)"]
    if verdict.status is not Status.PASSED:
        prefix = f"{kind}: {verdict.status.value}"
        return [f"{prefix}: {r}" for r in verdict.reasons] or [prefix]
    age = evidence_age_hours(verdict, now)
    if age is None:
        return [f"{kind}: evidence has no evaluation time; re-run it"]
    if age > max_age_hours:
        return [f"{kind}: stale: evaluated {age:.1f} h ago, limit {max_age_hours} h; re-run it"]
    return []


def decide(model: Model, policy: Policy, verdicts: Mapping[str, Verdict | None],
           now: datetime | None = None) -> Decision:
    now = now or datetime.now(timezone.utc)
    entry = model.entry
    tier_name = policy.tier_name(entry)
    tier = policy.tiers[tier_name]
    reasons: list[str] = []
    if entry.risk.eu_ai_act.category is EuAiActCategory.PROHIBITED:
        reasons.append("EU AI Act: prohibited practice (Art. 5): never deployable")
    for kind in tier.required_evidence(entry.kind):
        reasons += evidence_problems(kind, verdicts.get(kind), tier.evidence_max_age_hours, now)
    evidence = {k: (v.status.value if v else "not assessed") for k, v in verdicts.items()}
    return Decision(entry.name, entry.version, tier_name, not reasons, tuple(reasons), evidence,
                    now.isoformat())
