"""The committee's binding decisions: `assets/committee/decisions.jsonl` (a hash-chained ledger).

Rules the gate enforces, per model:
- a permission (approve, accept, classify) counts only when it is signed by keys the policy's
  keyring lists: `committee.quorum` distinct committee members for approve/accept, one
  governance owner for classify; it names the model's version, artifact digest and risk
  classification (harm, reversibility, tier), and counts only while those are still the model's;
  one dated in the future counts as nothing. Typed names (`members_present`) are labels;
- restrictions (block, defer) bind unsigned, whoever recorded them;
- order is the register's order (seq), never the dates records claim: a later restriction
  always outranks an earlier permission;
- the standing decision is the latest record for the model that is either a block or a defer
  (whatever its digest: a new artifact does not escape a block) or a valid approval of THIS digest;
- block always blocks; defer blocks until its `defer_until` date (exclusive);
- a tier with `require_committee_approval` needs a standing approval of this exact digest,
  valid from `decided_on` for the tier's `approval_valid_days` (expired on decided_on + days);
- the register is one chain shared by every model: a broken chain blocks them all;
- restrictions are sticky: a block or deferral the gate has ever seen binds even after its line
  is removed (`remembered`), until a later record in the register lifts it; an approval counts
  only when it is in the register being gated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from pydantic import Field, field_validator, model_validator

from ..cards.schema import named_person
from ..inventory.schema import NAME_PATTERN, SHA256_PATTERN, Strict
from ..trust.keyring import COMMITTEE_MEMBER, GOVERNANCE_OWNER
from ..trust.ledger import Chain, Sign, SignatureEntry, Signed, append_record, read_chain, verify_signatures
from .policy import Policy, TierPolicy
from ..trust.subject import Classification, Subject, future_problem

REGISTER_FILE = Path("committee") / "decisions.jsonl"
DUE_HORIZON_DAYS = 30  # the monthly pack lists what falls due within this many days


class CommitteeError(Exception):
    """A decision cannot be recorded; the message says why."""


# accept: the committee reviewed evidence too thin to judge (e.g. segments below the minimum
# count) for this exact digest and accepts it; it approves nothing else.
# classify: a governance owner confirms the model's risk classification (needed to lower a tier).
DecisionKind = Literal["approve", "block", "defer", "accept", "classify"]
PERMISSIONS = ("approve", "accept", "classify")
PAYLOAD_TYPE = "application/vnd.aisec.committee-decision+json"



class CommitteeRecord(Strict):
    seq: int = Field(ge=1)
    model: str = Field(pattern=NAME_PATTERN)
    version: str | None = None
    artifact_sha256: str = Field(pattern=SHA256_PATTERN)
    classification: Classification | None = None
    decision: DecisionKind
    defer_until: date | None = None
    conditions: tuple[str, ...] = ()
    decided_on: date
    rationale: str = Field(min_length=1)
    members_present: tuple[str, ...] = ()
    recorded_at: datetime
    prev_hash: str = Field(pattern=SHA256_PATTERN)
    hash: str = Field(pattern=SHA256_PATTERN)
    signatures: tuple[SignatureEntry, ...] = ()

    @field_validator("rationale", "conditions", "members_present")
    @classmethod
    def _no_blank_text(cls, value):
        texts = [value] if isinstance(value, str) else list(value)
        if any(not text.strip() for text in texts):
            raise ValueError("must not be blank")
        return value

    @field_validator("members_present")
    @classmethod
    def _named_people(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for member in value:
            named_person(member)
        return value

    @model_validator(mode="after")
    def _not_dated_in_the_future(self) -> "CommitteeRecord":
        # One day of slack: a meeting east of UTC may already be on the next calendar day.
        if self.decided_on > self.recorded_at.date() + timedelta(days=1):
            raise ValueError(f"decided_on {self.decided_on} is after the day it was recorded "
                             f"({self.recorded_at.date()}): a decision cannot be dated in the future")
        return self

    @model_validator(mode="after")
    def _defer_has_a_date(self) -> "CommitteeRecord":
        if self.decision == "defer":
            if self.defer_until is None:
                raise ValueError("a defer decision needs defer_until (the date to revisit)")
            if self.defer_until <= self.decided_on:
                raise ValueError("defer_until must be after decided_on")
        elif self.defer_until is not None:
            raise ValueError(f"defer_until is only for defer decisions, not {self.decision}")
        return self

    @property
    def who(self) -> str:
        return ", ".join(self.members_present) or "no names given"


Register = Signed[CommitteeRecord]


def load_register(inventory_root: Path, policy: Policy) -> Register:
    """The register with every signature checked against the policy's keyring; a missing file
    is an empty register (no decisions yet)."""
    chain = read_chain(inventory_root / REGISTER_FILE, CommitteeRecord.model_validate)
    return verify_signatures(chain, PAYLOAD_TYPE, policy.people)


def empty_register() -> Register:
    return Signed(Chain(REGISTER_FILE, (), ()), {})


def record_decision(path: Path, *, subject: Subject, decision: str, rationale: str,
                    members: Iterable[str] = (), conditions: Iterable[str] = (),
                    defer_until: date | None = None, decided_on: date | None = None,
                    sign: Sign | None = None, now: datetime | None = None) -> CommitteeRecord:
    """Append one decision about `subject` to the register at `path`, signed by `sign` when
    given; raises LedgerError when it is invalid or the register is broken (nothing written)."""
    now = now or datetime.now(timezone.utc)
    fields = {
        "model": subject.model, "version": subject.version,
        "artifact_sha256": subject.digest,
        "classification": subject.classification.model_dump(mode="json"),
        "decision": decision, "defer_until": defer_until.isoformat() if defer_until else None,
        "conditions": list(conditions), "decided_on": (decided_on or now.date()).isoformat(),
        "rationale": rationale, "members_present": list(members), "recorded_at": now.isoformat(),
    }
    return append_record(path, lambda chain: fields, CommitteeRecord.model_validate, sign)


def sign_decision(path: Path, seq: int, sign: Sign) -> CommitteeRecord:
    """Co-sign record `seq` (another committee member present at the meeting)."""
    from ..trust.ledger import add_signature

    return add_signature(path, seq, sign, CommitteeRecord.model_validate)


def permission_problem(register: Register, record: CommitteeRecord, subject: Subject,
                       quorum: int, now: datetime) -> str | None:
    """Why this permission counts as nothing for `subject` (None: it counts)."""
    check = register.signers(record.hash)
    if record.decision == "classify":
        if not check.with_role(GOVERNANCE_OWNER):
            return f"it is not signed by a governance owner ({check.describe()})"
    else:
        members = check.with_role(COMMITTEE_MEMBER)
        if len(members) < quorum:
            return (f"it is signed by {len(members)} of the {quorum} committee members it needs "
                    f"({check.describe()}); typed names prove nothing")
    return future_problem(record.recorded_at, now) or subject.mismatch(
        record.version, record.artifact_sha256 if record.decision != "classify" else None,
        record.classification)


def signed_by(register: Register, record: CommitteeRecord) -> str:
    return ", ".join(register.signers(record.hash).names) or "nobody verified"


def is_restriction(record: CommitteeRecord) -> bool:
    """Blocks and deferrals restrict; once seen they bind even if their line disappears."""
    return record.decision in ("block", "defer")


def with_remembered(records: Sequence[CommitteeRecord],
                    remembered: Iterable[CommitteeRecord]) -> tuple[list[CommitteeRecord], set[str]]:
    """The register's records plus restrictions seen earlier that it no longer holds, in register
    order (seq; a lost restriction after the present record of the same seq), and the hashes of
    those lost ones. Approvals are never taken from memory: a permission counts only when it is
    in the register being gated."""
    present = {record.hash for record in records}
    lost = {r.hash: r for r in remembered if is_restriction(r) and r.hash not in present}
    merged = sorted([*records, *lost.values()], key=lambda r: r.seq)
    return merged, set(lost)


@dataclass(frozen=True)
class Standing:
    record: CommitteeRecord | None
    void: tuple[str, ...] = ()  # approvals for this digest that count as nothing, and why


def standing_decision(register: Register, records: Iterable[CommitteeRecord], subject: Subject,
                      quorum: int, now: datetime) -> Standing:
    standing, void = None, []
    for record in records:
        if record.model != subject.model or record.decision in ("accept", "classify"):
            continue
        if is_restriction(record):
            standing = record
        elif record.artifact_sha256 == subject.digest:
            problem = permission_problem(register, record, subject, quorum, now)
            if problem is None:
                standing = record
            else:
                void.append(f"approval record {record.seq} counts as nothing: {problem}")
    return Standing(standing, tuple(void))


def acceptance(register: Register, subject: Subject, quorum: int,
               now: datetime) -> CommitteeRecord | None:
    """The committee's valid acceptance of insufficient evidence for exactly this digest, if
    recorded in this (intact) register: like any permission, never taken from memory."""
    if not register.intact:
        return None
    found = [r for r in register.chain.records
             if r.model == subject.model and r.artifact_sha256 == subject.digest
             and r.decision == "accept" and permission_problem(register, r, subject, quorum, now) is None]
    return found[-1] if found else None


def confirmed_classification(register: Register, subject: Subject, now: datetime) -> CommitteeRecord | None:
    """A governance owner's signed confirmation of the model's current classification."""
    found = [r for r in register.chain.records if r.model == subject.model
             and r.decision == "classify" and permission_problem(register, r, subject, 1, now) is None]
    return found[-1] if found else None


def signed_classifications(register: Register, model: str) -> list[tuple[Any, str]]:
    """(classification, where) of every permission for `model` that carries verified signatures."""
    return [(r.classification, f"committee record {r.seq}") for r in register.chain.records
            if r.model == model and r.decision in ("approve", "accept") and r.classification
            and register.signers(r.hash).signers]


def latest_for_digest(records: Iterable[CommitteeRecord], model: str,
                      digest: str) -> CommitteeRecord | None:
    """The committee's latest word on exactly this artifact (any decision), for attestation."""
    matching = [r for r in records if r.model == model and r.artifact_sha256 == digest]
    return matching[-1] if matching else None


@dataclass(frozen=True)
class DecisionDue:
    """Something the committee must decide, and by when (None: as soon as possible)."""

    model: str
    what: str
    due_on: date | None = None


@dataclass(frozen=True)
class CommitteeFinding:
    reasons: tuple[str, ...]  # empty: the committee does not stand in the way
    conditions: tuple[str, ...] = ()
    standing: CommitteeRecord | None = None
    approval_expires_on: date | None = None
    due: tuple[DecisionDue, ...] = ()


def tamper_reason(register: Register) -> str:
    return (f"committee register tampered at {register.problem}; the register is one chain "
            "shared by every model, so all models are blocked until it is restored from version "
            "control (check with `aisec committee verify`)")


LOST_NOTE = ("; this record is no longer in the register, but this Dagster instance saw it "
             "and a removed line lifts nothing: restore the register from version control or "
             "record a new decision")


def _record_label(record: CommitteeRecord, lost: frozenset[str] = frozenset()) -> str:
    label = f"record {record.seq} of {record.decided_on} (present: {record.who})"
    return label + (" [removed from the register]" if record.hash in lost else "")


def _approval_finding(model: str, record: CommitteeRecord, tier_name: str, tier: TierPolicy,
                      today: date, by: str) -> CommitteeFinding:
    expires = record.decided_on + timedelta(days=tier.approval_valid_days)
    due = ()
    if tier.require_committee_approval and today + timedelta(days=DUE_HORIZON_DAYS) >= expires:
        due = (DecisionDue(model, f"approval {_record_label(record)} expires", expires),)
    if today >= expires and tier.require_committee_approval:
        reason = (f"committee: approval {_record_label(record)} signed by {by} expired on {expires} "
                  f"(tier {tier_name} approvals are valid {tier.approval_valid_days} days); renew "
                  "it for this digest")
        return CommitteeFinding((reason,), (), record, expires, due)
    conditions = record.conditions if today < expires else ()
    return CommitteeFinding((), conditions, record, expires, due)


def _missing_approval(subject: Subject, tier_name: str, standing: Standing) -> CommitteeFinding:
    record = standing.record
    after = (f" (the deferral {_record_label(record)} ended on {record.defer_until})"
             if record is not None else "")
    void = "".join(f"; {v}" for v in standing.void)
    reason = (f"committee: tier {tier_name} requires an approval of this exact artifact digest "
              f"{subject.digest}, signed by the committee's quorum, none is standing{after}{void}; "
              f"record one with `aisec committee record --model {subject.model} --decision approve "
              "--key KEY ...` and have members co-sign it with `aisec committee sign`")
    return CommitteeFinding((reason,), (), record,
                            due=(DecisionDue(subject.model, f"approval needed (tier {tier_name})"),))


def committee_finding(register: Register, subject: Subject, tier: TierPolicy, quorum: int,
                      now: datetime, remembered: Iterable[CommitteeRecord] = ()) -> CommitteeFinding:
    """What the committee's register means for deploying `subject` at `now`.
    `remembered`: restrictions this instance saw earlier (they bind even if their line is gone)."""
    if not register.intact:
        return CommitteeFinding((tamper_reason(register),))
    records, lost = with_remembered(register.chain.records, remembered)
    lost = frozenset(lost)
    standing = standing_decision(register, records, subject, quorum, now)
    record, kind = standing.record, standing.record.decision if standing.record else None
    note = LOST_NOTE if record is not None and record.hash in lost else ""
    tier_name, today = subject.classification.tier, now.date()
    if kind == "block":
        return CommitteeFinding((f"committee: blocked by {_record_label(record, lost)}: "
                                 f"{record.rationale}{note}",), record.conditions, record)
    if kind == "defer" and today < record.defer_until:
        reason = (f"committee: deferred until {record.defer_until} by "
                  f"{_record_label(record, lost)}: {record.rationale}{note}")
        due = DecisionDue(subject.model, f"deferral by record {record.seq} ends: revisit",
                          record.defer_until)
        return CommitteeFinding((reason,), record.conditions, record, due=(due,))
    if kind == "approve":
        return _approval_finding(subject.model, record, tier_name, tier, today,
                                 signed_by(register, record))
    if tier.require_committee_approval:
        return _missing_approval(subject, tier_name, standing)
    return CommitteeFinding((), (), record)
