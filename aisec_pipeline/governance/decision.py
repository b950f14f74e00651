"""The deployment decision: combine evidence verdicts under the model's tier policy.

`decide(facts)` is pure: everything it needs is in one `GateFacts` value, gathered once.

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

from ..cards.review import (CardUnderReview, ReviewFinding, ReviewLog, ReviewRules, load_reviews,
                            review_finding)
from ..clock import age_hours, from_the_future, parse_stamp
from ..evidence_kinds import gating_kinds_for
from ..inventory import Model
from ..inventory.schema import EuAiActCategory
from ..kind_names import MODEL_CARD
from ..trust.subject import Subject
from ..verdict import Status, Verdict
from .committee import (CommitteeFinding, Register, acceptance, committee_finding,
                        confirmed_classification, load_register, signed_classifications)
from .incidents import INCIDENTS_KIND, IncidentLog, incident_verdict, load_incidents
from .memory import Remembered
from .policy import Policy
from .policy_trust import PolicyTrust, verify_policy
from .regulations import REGULATIONS_FILE, IncidentReporting, load_regulations

EVALUATED_AT = "evaluated_at"  # figures key every evidence asset stamps (ISO 8601, UTC)
VALID_UNTIL = "review_valid_until"  # figures key: evidence that holds only until then (a card review)
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
    reviewers: tuple[str, ...] = ()  # who signed the standing card reviews ("NAME on DATE")
    policy_version: int = 0  # the signed policy version it was judged under
    attestation: Mapping[str, Any] | None = None  # the gate's signature (governance/attestation.py)
    signoffs: tuple[str, ...] = ()  # who verifiably signed what this decision relied on
    signoff_problems: tuple[str, ...] = ()  # the reasons that concern sign-offs and authority

    @property
    def label(self) -> str:
        return "approved" if self.approved else "blocked"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.model, "version": self.version, "tier": self.tier,
                "decision": self.label, "reasons": list(self.reasons),
                "evidence": dict(self.evidence), "decided_at": self.decided_at,
                "conditions": list(self.conditions), "use_case": self.use_case,
                "artifact_digest": self.digest, "environment": self.environment,
                "card_digest": self.card_digest, "card_reviewers": list(self.reviewers),
                "policy_version": self.policy_version, "attestation": self.attestation,
                "signoffs": list(self.signoffs), "signoff_problems": list(self.signoff_problems)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Decision":
        return cls(data["name"], data["version"], data["tier"], data["decision"] == "approved",
                   tuple(data["reasons"]), dict(data["evidence"]), data["decided_at"],
                   tuple(data.get("conditions", ())), data.get("use_case"), data.get("artifact_digest", ""),
                   data.get("environment"), data.get("card_digest", ""),
                   tuple(data.get("card_reviewers", ())), int(data.get("policy_version", 0)),
                   data.get("attestation"), tuple(data.get("signoffs", ())),
                   tuple(data.get("signoff_problems", ())))


def stamp(verdict: Verdict, now: datetime | None = None) -> Verdict:
    """The verdict with its evaluation time recorded, for freshness checks."""
    now = now or datetime.now(timezone.utc)
    return Verdict(verdict.kind, verdict.status, verdict.reasons,
                   {**verdict.figures, EVALUATED_AT: now.isoformat()}, verdict.attachments)


def evidence_age_hours(verdict: Verdict, now: datetime) -> float | None:
    """Hours since the verdict was evaluated; None when it has no evaluation time with a zone,
    or one from the future (beyond the allowed clock skew): such evidence is never fresh."""
    return age_hours(verdict.figures.get(EVALUATED_AT), now)


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
class PriorApproval:
    """An approval this instance recorded whose gate signature verified."""

    environment: str
    digest: str
    card_digest: str
    decided_at: datetime
    gate: str  # the keyring name of the gate that signed it


@dataclass(frozen=True)
class Promotion:
    """Where this deployment goes, the gate-signed approvals recorded before, and which gate is
    deciding now (None: it has no signing key)."""

    environment: str
    approved_before: tuple[PriorApproval, ...] = ()
    gate: str | None = None


def promotion_problems(policy: Policy, promotion: Promotion, digest: str, card_sha256: str,
                       now: datetime) -> list[str]:
    order = policy.environments
    if promotion.environment not in order:
        return [f"environment {promotion.environment!r} is not one of the policy's environments "
                f"({', '.join(order)})"]
    position = order.index(promotion.environment)
    if position == 0:
        return []
    previous, rules = order[position - 1], policy.promotion_rule(promotion.environment)
    same = [p for p in promotion.approved_before
            if (p.environment, p.digest, p.card_digest) == (previous, digest, card_sha256)]
    if not same:
        return [f"promotion to {promotion.environment} needs this artifact (digest {digest[:12]}) with "
                f"this reviewed card (sha256 {card_sha256[:12]}) approved in {previous} first, in a "
                f"decision signed by a gate key: gate it for {previous}, then promote it unchanged"]
    aged = [p for p in same if (now - p.decided_at).total_seconds() >= rules.min_hours_in_previous * 3600]
    if not aged:
        newest = max(p.decided_at for p in same)
        return [f"promotion to {promotion.environment}: approved in {previous} at {newest.isoformat()}, "
                f"the policy needs {rules.min_hours_in_previous:g} h there first"]
    if rules.different_gate and all(p.gate == promotion.gate for p in aged):
        return [f"promotion to {promotion.environment}: the policy needs another gate than "
                f"{promotion.gate} to have approved it in {previous}"]
    return []


@dataclass(frozen=True)
class Governance:
    """The governance files as read once for a gate: the policy's signed state and the ledgers,
    every signature checked against the policy's keyring."""

    policy_trust: PolicyTrust
    committee: Register
    incidents: IncidentLog
    reviews: ReviewLog
    reporting: IncidentReporting | None = None


@dataclass(frozen=True)
class GateFacts:
    """Every fact one deployment decision needs, gathered once (orchestration/decision.py), then
    judged by `decide()` without reading anything else. The UI and `--json` show the decision."""

    model: Model
    policy: Policy
    governance: Governance
    verdicts: Mapping[str, Verdict | None]
    now: datetime
    card: CardUnderReview | None = None  # None: the card could not be read (blocks)
    remembered: Remembered = field(default_factory=Remembered)
    observed_sha256s: Mapping[str, str] | None = None  # artifact path -> sha256 hashed on this gate
    use_case: str | None = None
    validated_use_cases: Sequence[str] | None = None  # the card's ids; None: unknown
    promotion: Promotion | None = None

    @property
    def subject(self) -> Subject:
        return self.policy.subject(self.model.entry)


def read_governance(inventory_root: Path, policy: Policy, now: datetime | None = None) -> Governance:
    """The governance files, read and verified once. Missing ledgers are empty; a missing
    regulations.yaml only drops Art. 73 due dates from reasons (blocking never depends on them);
    an invalid one raises InventoryError."""
    reporting = None
    if (inventory_root / REGULATIONS_FILE).exists():
        reporting = load_regulations(inventory_root).eu_ai_act.serious_incident_reporting
    ring = policy.people
    return Governance(verify_policy(inventory_root), load_register(inventory_root, policy),
                      load_incidents(inventory_root, ring, now), load_reviews(inventory_root, ring),
                      reporting)


def review_problems(facts: GateFacts) -> tuple[list[str], tuple[str, ...]]:
    if facts.card is None:
        return ["model_card: the card could not be read, so its review cannot be checked"], ()
    finding = judge_card_review(facts.policy, facts.model.entry, facts.governance.reviews, facts.card,
                                facts.now, facts.remembered.card_reviews)
    return list(finding.reasons), finding.signers


def judge_card_review(policy: Policy, entry, reviews: ReviewLog, card: CardUnderReview,
                      now: datetime, remembered=()) -> ReviewFinding:
    """The card's signed review under its tier's rules: the one rule the decision and the
    model_card check both apply."""
    rules = policy.tier_for(entry).card_review
    return review_finding(reviews, policy.subject(entry), card,
                          ReviewRules(rules.required, rules.valid_days, rules.committee_member),
                          policy.people, now, remembered)


def not_yet_given(card_reasons: list[str], card: Verdict | None) -> list[str]:
    """The review's reasons the model_card verdict does not already give (it judges the review by
    the same rule when measured; judged again here, for the time of this decision)."""
    given = set(card.reasons) if card is not None else set()
    return [r for r in card_reasons if r.removeprefix(f"{MODEL_CARD}: ") not in given]


def policy_problems(trust: PolicyTrust, remembered: Remembered) -> list[str]:
    """The policy's own problems, and a rollback below a version this instance verified."""
    from .memory import rollback_problems

    return [f"policy: {problem}"
            for problem in (*trust.problems, *rollback_problems(trust, remembered.policy_heads))]


def lowered_tier_problems(facts: GateFacts) -> list[str]:
    """A model signed off at a higher tier cannot drop to a lower one by editing its own entry:
    that needs a governance owner's signed confirmation of the new classification."""
    subject, gov = facts.subject, facts.governance
    rank = facts.policy.tier_rank(subject.classification.tier)
    signed = signed_classifications(gov.committee, subject.model)
    signed += [(r.classification, f"card review {r.seq}") for r in gov.reviews.chain.records
               if r.model == subject.model and r.classification and gov.reviews.signers(r.hash).signers]
    higher = [(c, where) for c, where in signed if facts.policy.tier_rank(c.tier) > rank]
    if not higher or confirmed_classification(gov.committee, subject, facts.now) is not None:
        return []
    top, where = max(higher, key=lambda item: facts.policy.tier_rank(item[0].tier))
    return [f"risk: {subject.model} was signed off at {top.describe()} ({where}) and now declares "
            f"{subject.classification.describe()}: a lower tier needs a governance owner's signed "
            f"confirmation (`aisec committee record --model {subject.model} --decision classify "
            "--key KEY ...`)"]


def evidence_reasons(facts: GateFacts, accepted) -> tuple[list[str], list[str]]:
    """Reasons from the evidence verdicts, and the conditions of a committee acceptance."""
    tier = facts.policy.tier_for(facts.model.entry)
    reasons, conditions = [], []
    for kind in required_kinds(facts.model, facts.policy):
        verdict = facts.verdicts.get(kind)
        if insufficient(verdict) and accepted is not None:
            conditions.append(f"{kind}: too little data to judge, accepted by committee record "
                              f"{accepted.seq} of {accepted.decided_on} (signed by "
                              f"{', '.join(facts.governance.committee.signers(accepted.hash).names)}): "
                              f"{accepted.rationale}")
            verdict = Verdict(kind, Status.PASSED, verdict.reasons, verdict.figures)
        elif insufficient(verdict):
            reasons.append(f"{kind}: needs review: the committee can accept it for this digest "
                           f"with `aisec committee record --model {facts.model.name} --decision accept ...`")
        reasons += evidence_problems(kind, verdict, tier.evidence_max_age_hours, facts.now)
    return reasons, conditions


def signoffs(facts: GateFacts, finding: CommitteeFinding, reviewers: tuple[str, ...]) -> tuple[str, ...]:
    """Who verifiably signed what the decision relied on, for the UI, the pack and --json."""
    gov = facts.governance
    lines = [f"policy version {gov.policy_trust.version}: signed by "
             f"{', '.join(gov.policy_trust.signers) or 'nobody verified'}"]
    lines += [f"card review: {r} (signature verified)" for r in reviewers]
    record = finding.standing
    if record is not None:
        signed = ", ".join(gov.committee.signers(record.hash).names) or "nobody verified"
        lines.append(f"committee record {record.seq} ({record.decision}): signed by {signed}; "
                     f"names typed: {record.who}")
    return tuple(lines)


def decide(facts: GateFacts) -> Decision:
    """The deployment decision from the gathered facts alone."""
    model, policy, gov, now = facts.model, facts.policy, facts.governance, facts.now
    subject = facts.subject
    tier = policy.tiers[subject.classification.tier]
    authority = policy_problems(gov.policy_trust, facts.remembered)  # sign-off problems
    reasons: list[str] = list(authority)
    if model.entry.risk.eu_ai_act.category is EuAiActCategory.PROHIBITED:
        reasons.append("EU AI Act: prohibited practice (Art. 5): never deployable")
    if facts.observed_sha256s is not None:
        reasons += byte_problems(model, facts.observed_sha256s)
    accepted = acceptance(gov.committee, subject, policy.committee.quorum, now)
    evidence_found, conditions = evidence_reasons(facts, accepted)
    reasons += evidence_found
    lowered = lowered_tier_problems(facts)
    reasons += lowered
    authority += lowered
    finding = committee_finding(gov.committee, subject, tier, policy.committee.quorum, now,
                                facts.remembered.committee)
    committee = committee_verdict(finding)
    authority += governance_problems(committee)
    extra = {COMMITTEE_KIND: committee,
             INCIDENTS_KIND: incident_verdict(gov.incidents, model.name, gov.reporting, now,
                                              facts.remembered.incidents)}
    for verdict in extra.values():
        reasons += governance_problems(verdict)
    reasons += use_case_problems(facts.use_case, facts.validated_use_cases)
    card_reasons, reviewers = review_problems(facts)
    reasons += not_yet_given(card_reasons, facts.verdicts.get(MODEL_CARD))
    authority += card_reasons
    if facts.promotion is not None and facts.card is not None:
        reasons += promotion_problems(policy, facts.promotion, subject.digest, facts.card.sha256, now)
    evidence = {k: (v.status.value if v else "not assessed")
                for k, v in {**facts.verdicts, **extra}.items()}
    return Decision(model.name, model.entry.version, subject.classification.tier, not reasons,
                    tuple(reasons), evidence, now.isoformat(),
                    (*finding.conditions, *conditions, *gov.policy_trust.warnings),
                    facts.use_case, subject.digest,
                    facts.promotion.environment if facts.promotion else None,
                    facts.card.sha256 if facts.card else "", reviewers, gov.policy_trust.version,
                    signoffs=signoffs(facts, finding, reviewers), signoff_problems=tuple(authority))


def insufficient(verdict: Verdict | None) -> bool:
    """Evidence that could not judge for lack of data (not an error): the committee may accept it."""
    return (verdict is not None and verdict.status is Status.UNASSESSED
            and verdict.figures.get("outcome") == "insufficient")


