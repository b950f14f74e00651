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
class Remembered:
    committee: tuple[CommitteeRecord, ...] = ()
    incidents: tuple[Incident, ...] = ()
    card_reviews: tuple[CardReview, ...] = ()  # requested changes

    def keys(self) -> set[str]:
        return ({r.hash for r in self.committee} | {open_hash(i) for i in self.incidents}
                | {r.hash for r in self.card_reviews})

    def __add__(self, other: "Remembered") -> "Remembered":
        return Remembered(self.committee + other.committee, self.incidents + other.incidents,
                          self.card_reviews + other.card_reviews)

    def __bool__(self) -> bool:
        return bool(self.committee or self.incidents or self.card_reviews)


def restrictions_in(register: Register, log: IncidentLog, reviews: ReviewLog | None = None) -> Remembered:
    """The restrictions these files hold now (only from intact chains: a broken one blocks anyway)."""
    committee = tuple(r for r in register.chain.records if is_restriction(r)) if register.intact else ()
    incidents = tuple(restrictions(log)) if not log.problem else ()
    changes = (tuple(r for r in reviews.chain.records if r.decision == CHANGES)
               if reviews is not None and reviews.intact else ())
    return Remembered(committee, incidents, changes)


def unseen(current: Remembered, known: Remembered) -> Remembered:
    """The restrictions in `current` that `known` does not hold yet (what to record)."""
    keys = known.keys()
    return Remembered(tuple(r for r in current.committee if r.hash not in keys),
                      tuple(i for i in current.incidents if open_hash(i) not in keys),
                      tuple(r for r in current.card_reviews if r.hash not in keys))


def to_records(remembered: Remembered) -> dict[str, list[dict[str, Any]]]:
    return {"committee": [r.model_dump(mode="json") for r in remembered.committee],
            "incidents": [to_snapshot(i) for i in remembered.incidents],
            "card_reviews": [r.model_dump(mode="json") for r in remembered.card_reviews]}


def from_records(batches: Iterable[dict[str, Any]]) -> Remembered:
    """Merge stored batches; an unreadable entry is skipped (it was validated when stored)."""
    batches = list(batches)

    def merged(section: str, parse, identity) -> tuple:
        found = {}
        for raw in (raw for batch in batches for raw in batch.get(section, ())):
            try:
                item = parse(raw)
            except (ValidationError, KeyError, TypeError):
                continue
            found.setdefault(identity(item), item)
        return tuple(found.values())

    def by_hash(record):
        return record.hash

    return Remembered(merged("committee", CommitteeRecord.model_validate, by_hash),
                      merged("incidents", from_snapshot, open_hash),
                      merged("card_reviews", CardReview.model_validate, by_hash))


def lost_from_register(register: Register, remembered: Remembered) -> list[CommitteeRecord]:
    present = {r.hash for r in register.chain.records}
    return [r for r in remembered.committee if r.hash not in present]


def lost_from_log(log: IncidentLog, remembered: Remembered) -> list[Incident]:
    return lost_incidents(log, remembered.incidents)


def lost_from_reviews(reviews: ReviewLog, remembered: Remembered) -> list[CardReview]:
    present = {r.hash for r in reviews.chain.records}
    return [r for r in remembered.card_reviews if r.hash not in present]
