"""What the gate remembers of restrictions, so that deleting a line never lifts one.

Every gate run records the committee blocks/deferrals, the open serious incidents and the
requested card changes it read
(the Dagster shell stores them in the instance's event log, append-only). A later gate merges
them with the files it reads: a remembered restriction the file no longer holds still binds,
until a later record in the file lifts it (an approval recorded after a block, the end of a
deferral, a close event of the same incident). Approvals are never remembered: a permission
counts only when it is present in the register being gated and its chain verifies.

Two inventories (two branches) gated on one instance never see each other as tampered: the
files are not compared with each other, only restrictions carry over, and those bind every
branch alike (a branch that forked before a block is still a way to deploy the blocked model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import ValidationError

from ..cards.review import CHANGES, CardReview, ReviewLog
from .committee import CommitteeRecord, Register, is_restriction
from .incidents import Incident, IncidentLog, from_snapshot, lost_incidents, open_hash, restrictions, to_snapshot


@dataclass(frozen=True)
class PolicyHead:
    """A policy version this instance verified: (root of its history, version, record hash)."""

    root: str
    version: int
    head: str


@dataclass(frozen=True)
class Remembered:
    committee: tuple[CommitteeRecord, ...] = ()
    incidents: tuple[Incident, ...] = ()
    card_reviews: tuple[CardReview, ...] = ()  # requested changes
    policy_heads: tuple[PolicyHead, ...] = ()  # a rolled-back or rewritten policy history blocks

    def keys(self) -> set[str]:
        return ({r.hash for r in self.committee} | {open_hash(i) for i in self.incidents}
                | {r.hash for r in self.card_reviews} | {h.head for h in self.policy_heads})

    def __add__(self, other: "Remembered") -> "Remembered":
        return Remembered(self.committee + other.committee, self.incidents + other.incidents,
                          self.card_reviews + other.card_reviews,
                          self.policy_heads + other.policy_heads)

    def __bool__(self) -> bool:
        return bool(self.committee or self.incidents or self.card_reviews or self.policy_heads)


def restrictions_in(register: Register, log: IncidentLog, reviews: ReviewLog | None = None,
                    trust=None) -> Remembered:
    """The restrictions these files hold now (only from intact chains: a broken one blocks
    anyway), and the policy version in force when it verified."""
    committee = tuple(r for r in register.chain.records if is_restriction(r)) if register.intact else ()
    incidents = tuple(restrictions(log)) if not log.problem else ()
    changes = (tuple(r for r in reviews.chain.records if r.decision == CHANGES)
               if reviews is not None and reviews.intact else ())
    heads = ((PolicyHead(trust.root, trust.version, trust.head),)
             if trust is not None and trust.trusted else ())
    return Remembered(committee, incidents, changes, heads)


def unseen(current: Remembered, known: Remembered) -> Remembered:
    """The restrictions in `current` that `known` does not hold yet (what to record)."""
    keys = known.keys()
    return Remembered(tuple(r for r in current.committee if r.hash not in keys),
                      tuple(i for i in current.incidents if open_hash(i) not in keys),
                      tuple(r for r in current.card_reviews if r.hash not in keys),
                      tuple(h for h in current.policy_heads if h.head not in keys))


def rollback_problems(trust, heads) -> list[str]:
    """A policy history this instance saw at a later version (or with another record at the same
    version) has been rolled back or rewritten: the older signed version does not count."""
    problems = []
    for head in heads:
        if head.root != trust.root or not trust.version:
            continue
        if head.version > trust.version:
            problems.append(f"this instance verified version {head.version} of this policy history "
                            f"(record {head.head[:12]}); the inventory holds only version "
                            f"{trust.version}: a rolled-back policy counts for nothing until "
                            f"version {head.version} is restored")
        elif head.version == trust.version and head.head != trust.head:
            problems.append(f"policy version {head.version} is not the record this instance "
                            f"verified ({head.head[:12]}): the history was rewritten")
    return problems


def to_records(remembered: Remembered) -> dict[str, list[dict[str, Any]]]:
    return {"committee": [r.model_dump(mode="json") for r in remembered.committee],
            "incidents": [to_snapshot(i) for i in remembered.incidents],
            "card_reviews": [r.model_dump(mode="json") for r in remembered.card_reviews],
            "policy_heads": [vars(h) for h in remembered.policy_heads]}


def from_records(batches: Iterable[dict[str, Any]]) -> Remembered:
    """Merge stored batches; an unreadable entry is skipped (it was validated when stored)."""
    batches = list(batches)

    def merged(section: str, parse, identity) -> tuple:
        found = {}
        for raw in (raw for batch in batches for raw in batch.get(section, ())):
            try:
                item = parse(raw)
            except (ValidationError, KeyError, TypeError, ValueError):
                continue
            found.setdefault(identity(item), item)
        return tuple(found.values())

    def by_hash(record):
        return record.hash

    def head(raw) -> PolicyHead:
        return PolicyHead(str(raw["root"]), int(raw["version"]), str(raw["head"]))

    return Remembered(merged("committee", CommitteeRecord.model_validate, by_hash),
                      merged("incidents", from_snapshot, open_hash),
                      merged("card_reviews", CardReview.model_validate, by_hash),
                      merged("policy_heads", head, lambda h: h.head))


def lost_from_register(register: Register, remembered: Remembered) -> list[CommitteeRecord]:
    present = {r.hash for r in register.chain.records}
    return [r for r in remembered.committee if r.hash not in present]


def lost_from_log(log: IncidentLog, remembered: Remembered) -> list[Incident]:
    return lost_incidents(log, remembered.incidents)


def lost_from_reviews(reviews: ReviewLog, remembered: Remembered) -> list[CardReview]:
    present = {r.hash for r in reviews.chain.records}
    return [r for r in remembered.card_reviews if r.hash not in present]
