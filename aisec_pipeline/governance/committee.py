"""The committee's binding decisions: `assets/committee/decisions.jsonl` (a hash-chained ledger).

Rules the gate enforces, per model:
- the standing decision is the latest record for the model that is either a block or a defer
  (whatever its digest: a new artifact does not escape a block) or an approval of THIS digest;
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
from typing import Iterable, Literal, Sequence

from pydantic import Field, field_validator, model_validator

from ..cards.schema import named_person
from ..inventory.schema import NAME_PATTERN, SHA256_PATTERN, Strict
from .ledger import Chain, append_record, read_chain
from .policy import TierPolicy

REGISTER_FILE = Path("committee") / "decisions.jsonl"
DUE_HORIZON_DAYS = 30  # the monthly pack lists what falls due within this many days


class CommitteeError(Exception):
    """A decision cannot be recorded; the message says why."""


# accept: the committee reviewed evidence too thin to judge (e.g. segments below the minimum
# count) for this exact digest and accepts it; it approves nothing else.
DecisionKind = Literal["approve", "block", "defer", "accept"]


class CommitteeRecord(Strict):
    seq: int = Field(ge=1)
    model: str = Field(pattern=NAME_PATTERN)
    artifact_sha256: str = Field(pattern=SHA256_PATTERN)
    decision: DecisionKind
    defer_until: date | None = None
    conditions: tuple[str, ...] = ()
    decided_on: date
    rationale: str = Field(min_length=1)
    members_present: tuple[str, ...] = Field(min_length=1)
    recorded_at: datetime
    prev_hash: str = Field(pattern=SHA256_PATTERN)
    hash: str = Field(pattern=SHA256_PATTERN)

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
        return ", ".join(self.members_present)


Register = Chain[CommitteeRecord]


def load_register(inventory_root: Path) -> Register:
    """The verified register; a missing file is an empty register (no decisions yet)."""
    return read_chain(inventory_root / REGISTER_FILE, CommitteeRecord.model_validate)


def record_decision(path: Path, *, model: str, artifact_sha256: str, decision: str,
                    rationale: str, members: Iterable[str], conditions: Iterable[str] = (),
                    defer_until: date | None = None, decided_on: date | None = None,
                    now: datetime | None = None) -> CommitteeRecord:
    """Append one decision to the register at `path`; raises LedgerError when it is invalid or
    the register is broken (nothing is written then)."""
    now = now or datetime.now(timezone.utc)
    fields = {
        "model": model, "artifact_sha256": artifact_sha256, "decision": decision,
        "defer_until": defer_until.isoformat() if defer_until else None,
        "conditions": list(conditions), "decided_on": (decided_on or now.date()).isoformat(),
        "rationale": rationale, "members_present": list(members),
        "recorded_at": now.isoformat(),
    }
    return append_record(path, lambda chain: fields, CommitteeRecord.model_validate)


def is_restriction(record: CommitteeRecord) -> bool:
    """Blocks and deferrals restrict; once seen they bind even if their line disappears."""
    return record.decision in ("block", "defer")


def with_remembered(records: Sequence[CommitteeRecord],
                    remembered: Iterable[CommitteeRecord]) -> tuple[list[CommitteeRecord], set[str]]:
    """The register's records plus restrictions seen earlier that it no longer holds, in the
    order they were recorded, and the hashes of those lost ones. Approvals are never taken from
    memory: a permission counts only when it is in the register being gated."""
    present = {record.hash for record in records}
    lost = {r.hash: r for r in remembered if is_restriction(r) and r.hash not in present}
    merged = sorted([*records, *lost.values()], key=lambda r: r.recorded_at)
    return merged, set(lost)


def standing_decision(records: Iterable[CommitteeRecord], model: str,
                      digest: str) -> CommitteeRecord | None:
    standing = None
    for record in records:
        if record.model != model or record.decision == "accept":
            continue
        if record.decision != "approve" or record.artifact_sha256 == digest:
            standing = record
    return standing


def acceptance(register: Register, model: str, digest: str) -> CommitteeRecord | None:
    """The committee's acceptance of insufficient evidence for exactly this digest, if recorded
    in this (intact) register: like any permission, never taken from memory."""
    if not register.intact:
        return None
    found = [r for r in register.records
             if r.model == model and r.artifact_sha256 == digest and r.decision == "accept"]
    return found[-1] if found else None


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
                      today: date) -> CommitteeFinding:
    expires = record.decided_on + timedelta(days=tier.approval_valid_days)
    due = ()
    if tier.require_committee_approval and today + timedelta(days=DUE_HORIZON_DAYS) >= expires:
        due = (DecisionDue(model, f"approval {_record_label(record)} expires", expires),)
    if today >= expires and tier.require_committee_approval:
        reason = (f"committee: approval {_record_label(record)} expired on {expires} (tier "
                  f"{tier_name} approvals are valid {tier.approval_valid_days} days); renew it "
                  "for this digest")
        return CommitteeFinding((reason,), (), record, expires, due)
    conditions = record.conditions if today < expires else ()
    return CommitteeFinding((), conditions, record, expires, due)


def _missing_approval(model: str, digest: str, tier_name: str,
                      standing: CommitteeRecord | None) -> CommitteeFinding:
    after = (f" (the deferral {_record_label(standing)} ended on {standing.defer_until})"
             if standing else "")
    reason = (f"committee: tier {tier_name} requires an approval of this exact artifact digest "
              f"{digest}, none is standing{after}; record one with `aisec committee record "
              f"--model {model} --decision approve ...`")
    return CommitteeFinding((reason,), (), standing,
                            due=(DecisionDue(model, f"approval needed (tier {tier_name})"),))


def committee_finding(register: Register, model: str, digest: str, tier_name: str,
                      tier: TierPolicy, today: date,
                      remembered: Iterable[CommitteeRecord] = ()) -> CommitteeFinding:
    """What the committee's register means for deploying `model` at `digest` on `today`.
    `remembered`: restrictions this instance saw earlier (they bind even if their line is gone)."""
    if not register.intact:
        return CommitteeFinding((tamper_reason(register),))
    records, lost = with_remembered(register.records, remembered)
    lost = frozenset(lost)
    standing = standing_decision(records, model, digest)
    kind = standing.decision if standing else None
    note = LOST_NOTE if standing is not None and standing.hash in lost else ""
    if kind == "block":
        return CommitteeFinding((f"committee: blocked by {_record_label(standing, lost)}: "
                                 f"{standing.rationale}{note}",), standing.conditions, standing)
    if kind == "defer" and today < standing.defer_until:
        reason = (f"committee: deferred until {standing.defer_until} by "
                  f"{_record_label(standing, lost)}: {standing.rationale}{note}")
        due = DecisionDue(model, f"deferral by record {standing.seq} ends: revisit",
                          standing.defer_until)
        return CommitteeFinding((reason,), standing.conditions, standing, due=(due,))
    if kind == "approve":
        return _approval_finding(model, standing, tier_name, tier, today)
    if tier.require_committee_approval:
        return _missing_approval(model, digest, tier_name, standing)
    return CommitteeFinding((), (), standing)
