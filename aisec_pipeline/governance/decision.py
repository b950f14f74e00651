"""The deployment decision: combine evidence verdicts under the model's tier policy.

It never re-derives evidence. Approved only when every required kind is present, passed and
fresh, the committee does not stand in the way (block, active deferral, missing or expired
approval where the tier needs one, tampered register), no serious incident is open and the
requested use case is one the card validated; anything else blocks, with a reason a person
can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..cards.review import ReviewLog, ReviewRules, review_finding
from ..clock import from_the_future, parse_stamp
from ..evidence_kinds import gating_kinds_for
from ..inventory import Model
from ..inventory.schema import EuAiActCategory
from ..verdict import Status, Verdict
from .committee import (REGISTER_FILE, CommitteeFinding, Register, acceptance, committee_finding,
                        load_register)
from .incidents import INCIDENTS_KIND, IncidentLog, incident_verdict, load_incidents
from .ledger import Chain
from .memory import Remembered
from .policy import Policy
from .regulations import REGULATIONS_FILE, IncidentReporting, load_regulations

EVALUATED_AT = "evaluated_at"  # figures key every evidence asset stamps (ISO 8601, UTC)
COMMITTEE_KIND = "committee"


@dataclass(frozen=True)
class Decision:
    model: str
    version: str
    tier: str
    approved: bool
    reasons: tuple[str, ...]
    evidence: dict[str, str] = field(default_factory=dict)  # kind -> status
    decided_at: str = ""
    conditions: tuple[str, ...] = ()  # attached by the committee's standing approval
    use_case: str | None = None
    digest: str = ""
    environment: str | None = None
    card_digest: str = ""  # sha256 of the card's bytes this decision was made on
    reviewers: tuple[str, ...] = ()  # the standing approving card reviews ("NAME on DATE")

    @property
    def label(self) -> str:
        return "approved" if self.approved else "blocked"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.model, "version": self.version, "tier": self.tier,
                "decision": self.label, "reasons": list(self.reasons),
                "evidence": dict(self.evidence), "decided_at": self.decided_at,
                "conditions": list(self.conditions), "use_case": self.use_case,
                "artifact_digest": self.digest, "environment": self.environment,
                "card_digest": self.card_digest, "card_reviewers": list(self.reviewers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Decision":
        return cls(data["name"], data["version"], data["tier"], data["decision"] == "approved",
                   tuple(data["reasons"]), dict(data["evidence"]), data["decided_at"],
                   tuple(data.get("conditions", ())), data.get("use_case"), data.get("artifact_digest", ""),
                   data.get("environment"), data.get("card_digest", ""),
                   tuple(data.get("card_reviewers", ())))


def stamp(verdict: Verdict, now: datetime | None = None) -> Verdict:
    """The verdict with its evaluation time recorded, for freshness checks."""
    now = now or datetime.now(timezone.utc)
    return Verdict(verdict.kind, verdict.status, verdict.reasons,
                   {**verdict.figures, EVALUATED_AT: now.isoformat()}, verdict.attachments)


def evidence_age_hours(verdict: Verdict, now: datetime) -> float | None:
    """Hours since the verdict was evaluated; None when it has no evaluation time with a zone,
    or one from the future (beyond the allowed clock skew): such evidence is never fresh."""
    evaluated = parse_stamp(verdict.figures.get(EVALUATED_AT))
    if evaluated is None or from_the_future(evaluated, now):
        return None
    return max(0.0, (now - evaluated).total_seconds() / 3600)


def evidence_problems(kind: str, verdict: Verdict | None, max_age_hours: int,
                      now: datetime) -> list[str]:
    if verdict is None:
        return [f"{kind}: not assessed (required by policy, no evidence produced)"]
    if verdict.status is not Status.PASSED:
        prefix = f"{kind}: {verdict.status.value}"
        return [f"{prefix}: {r}" for r in verdict.reasons] or [prefix]
    evaluated = parse_stamp(verdict.figures.get(EVALUATED_AT))
    if evaluated is None:
        return [f"{kind}: evidence has no evaluation time with a zone; re-run it"]
    future = from_the_future(evaluated, now)
    if future:
        return [f"{kind}: {future}; re-run it"]
    age = evidence_age_hours(verdict, now) or 0.0
    if age > max_age_hours:
        return [f"{kind}: stale: evaluated {age:.1f} h ago, limit {max_age_hours} h; re-run it"]
    return []


def use_case_problems(use_case: str | None,
                      validated_use_cases: Sequence[str] | None) -> list[str]:
    """No silent repurposing: a named use case must be one the card validated."""
    if use_case is None:
        return []
    if validated_use_cases is None:
        return [f"use case {use_case!r}: the card's validated use cases are unknown (card "
                "missing or invalid), so no use case can be confirmed"]
    if use_case not in validated_use_cases:
        valid = ", ".join(validated_use_cases) or "none"
        return [f"use case {use_case!r} is not among the card's validated use cases ({valid}): "
                "validate it on the card before deploying for it"]
    return []


def governance_problems(verdict: Verdict) -> list[str]:
    """Reasons from a live governance verdict (committee, incidents): no freshness to check."""
    if verdict.status is Status.PASSED:
        return []
    reasons = verdict.reasons or (verdict.status.value,)
    return [r if r.startswith(verdict.kind) else f"{verdict.kind}: {r}" for r in reasons]


def committee_verdict(finding: CommitteeFinding) -> Verdict:
    status = Status.FAILED if finding.reasons else Status.PASSED
    figures = {"conditions": list(finding.conditions)}
    if finding.standing:
        figures.update(record=finding.standing.seq, decision=finding.standing.decision)
    if finding.approval_expires_on:
        figures["approval_expires_on"] = finding.approval_expires_on.isoformat()
    return Verdict(COMMITTEE_KIND, status, finding.reasons, figures)


def required_kinds(model: Model, policy: Policy) -> list[str]:
    """The registry's gating kinds for this model (a floor no policy line can lower), then any
    extra kinds the tier's policy asks for."""
    floor = [kind.name for kind in gating_kinds_for(model)]
    extra = policy.tier_for(model.entry).evidence.get(model.entry.kind, ())
    return list(dict.fromkeys([*floor, *extra]))


def byte_problems(model: Model, observed_sha256s: Mapping[str, str]) -> list[str]:
    """The artifact bytes hashed on this gate must be the ones the registry names."""
    problems = []
    for artifact in model.entry.artifacts:
        actual = observed_sha256s.get(artifact.path)
        if actual != artifact.sha256:
            found = f"sha256 {actual}" if actual else "missing"
            problems.append(f"artifact_scan: the bytes of {artifact.path} on disk ({found}) are not "
                            f"the registry's sha256 {artifact.sha256}: no evidence can stand for them")
    return problems


@dataclass(frozen=True)
class CardUnderReview:
    """The card as it is now, and the review log to judge it by."""

    sha256: str
    owner: str | None
    reviews: ReviewLog


@dataclass(frozen=True)
class Promotion:
    """Where this deployment goes, and what this instance approved before (environment,
    artifact digest, card digest)."""

    environment: str
    approved_before: frozenset[tuple[str, str, str]] = frozenset()


def promotion_problems(policy: Policy, promotion: Promotion, digest: str, card_sha256: str) -> list[str]:
    order = policy.environments
    if promotion.environment not in order:
        return [f"environment {promotion.environment!r} is not one of the policy's environments "
                f"({', '.join(order)})"]
    position = order.index(promotion.environment)
    if position == 0:
        return []
    previous = order[position - 1]
    if (previous, digest, card_sha256) in promotion.approved_before:
        return []
    return [f"promotion to {promotion.environment} needs this artifact (digest {digest[:12]}) with "
            f"this reviewed card (sha256 {card_sha256[:12]}) approved in {previous} first: gate "
            f"it for {previous}, then promote it unchanged"]


def review_problems(model: Model, policy: Policy, card: CardUnderReview, now: datetime,
                    remembered: Remembered) -> tuple[list[str], tuple[str, ...]]:
    rules = policy.tier_for(model.entry).card_review
    finding = review_finding(card.reviews, model.name, card.sha256, model.entry.digest, card.owner,
                             ReviewRules(rules.required, rules.valid_days, rules.committee_member),
                             policy.committee.members, now.date(), remembered.card_reviews)
    return list(finding.reasons), tuple(f"{r.reviewer} on {r.reviewed_on}" for r in finding.standing)


def decide(model: Model, policy: Policy, verdicts: Mapping[str, Verdict | None],
           now: datetime | None = None, *, committee: Register | None = None,
           incidents: IncidentLog | None = None, reporting: IncidentReporting | None = None,
           use_case: str | None = None,
           validated_use_cases: Sequence[str] | None = None,
           remembered: Remembered | None = None,
           observed_sha256s: Mapping[str, str] | None = None,
           card: CardUnderReview | None = None,
           promotion: Promotion | None = None) -> Decision:
    """`committee`: the verified register (None: an empty one, so a tier that needs approval
    blocks). `incidents`: the incident log (None: use `verdicts["incidents"]` if present).
    `reporting`: Art. 73 rules for deadlines in reasons. `use_case`: the requested use, checked
    against `validated_use_cases` (the card's ids; None: unknown, so any named use case blocks).
    `remembered`: restrictions seen by earlier gates (they bind even when their lines are gone).
    `observed_sha256s`: artifact path -> sha256 hashed on this gate (None: not checked here).
    `card`: the card's bytes digest, owner and review log (None: reviews not checked here).
    `promotion`: the target environment and what was approved before (None: not checked)."""
    now = now or datetime.now(timezone.utc)
    remembered = remembered or Remembered()
    entry = model.entry
    tier_name = policy.tier_name(entry)
    tier = policy.tiers[tier_name]
    digest = entry.digest
    reasons: list[str] = []
    if entry.risk.eu_ai_act.category is EuAiActCategory.PROHIBITED:
        reasons.append("EU AI Act: prohibited practice (Art. 5): never deployable")
    if observed_sha256s is not None:
        reasons += byte_problems(model, observed_sha256s)
    register = committee if committee is not None else Chain(Path(REGISTER_FILE), (), ())
    accepted = acceptance(register, entry.name, digest)
    conditions: list[str] = []
    for kind in required_kinds(model, policy):
        verdict = verdicts.get(kind)
        if insufficient(verdict) and accepted is not None:
            conditions.append(f"{kind}: too little data to judge, accepted by committee record "
                              f"{accepted.seq} of {accepted.decided_on} ({accepted.who}): "
                              f"{accepted.rationale}")
            verdict = Verdict(kind, Status.PASSED, verdict.reasons, verdict.figures)
        elif insufficient(verdict):
            reasons.append(f"{kind}: needs review: the committee can accept it for this digest "
                           f"with `aisec committee record --model {entry.name} --decision accept ...`")
        reasons += evidence_problems(kind, verdict, tier.evidence_max_age_hours, now)
    finding = committee_finding(register, entry.name, digest, tier_name, tier, now.date(),
                                remembered.committee)
    extra = {COMMITTEE_KIND: committee_verdict(finding)}
    incident = (incident_verdict(incidents, entry.name, reporting, now, remembered.incidents)
                if incidents is not None else verdicts.get(INCIDENTS_KIND))
    if incident is not None:
        extra[INCIDENTS_KIND] = incident
    for verdict in extra.values():
        reasons += governance_problems(verdict)
    reasons += use_case_problems(use_case, validated_use_cases)
    reviewers: tuple[str, ...] = ()
    if card is not None:
        card_reasons, reviewers = review_problems(model, policy, card, now, remembered)
        reasons += card_reasons
        if promotion is not None:
            reasons += promotion_problems(policy, promotion, digest, card.sha256)
    evidence = {k: (v.status.value if v else "not assessed") for k, v in {**verdicts, **extra}.items()}
    return Decision(entry.name, entry.version, tier_name, not reasons, tuple(reasons), evidence,
                    now.isoformat(), (*finding.conditions, *conditions), use_case, digest,
                    promotion.environment if promotion else None, card.sha256 if card else "",
                    reviewers)


def insufficient(verdict: Verdict | None) -> bool:
    """Evidence that could not judge for lack of data (not an error): the committee may accept it."""
    return (verdict is not None and verdict.status is Status.UNASSESSED
            and verdict.figures.get("outcome") == "insufficient")


def governance_inputs(inventory_root: Path) -> dict[str, Any]:
    """`decide()`'s committee, incidents and reporting keywords, read from the inventory.
    Missing ledgers are empty; a missing regulations.yaml only drops Art. 73 due dates from
    reasons (blocking never depends on them); an invalid one raises InventoryError."""
    reporting = None
    if (inventory_root / REGULATIONS_FILE).exists():
        reporting = load_regulations(inventory_root).eu_ai_act.serious_incident_reporting
    return {"committee": load_register(inventory_root),
            "incidents": load_incidents(inventory_root), "reporting": reporting}
