"""What the gate remembers of restrictions, so that deleting a line never lifts one.

Every gate run records the committee blocks/deferrals and the open serious incidents it read
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

from .committee import CommitteeRecord, Register, is_restriction
from .incidents import Incident, IncidentLog, from_snapshot, lost_incidents, open_hash, restrictions, to_snapshot


@dataclass(frozen=True)
class Remembered:
    committee: tuple[CommitteeRecord, ...] = ()
    incidents: tuple[Incident, ...] = ()

    def keys(self) -> set[str]:
        return {r.hash for r in self.committee} | {open_hash(i) for i in self.incidents}


def restrictions_in(register: Register, log: IncidentLog) -> Remembered:
    """The restrictions these files hold now (only from intact chains: a broken one blocks anyway)."""
    committee = tuple(r for r in register.records if is_restriction(r)) if register.intact else ()
    incidents = tuple(restrictions(log)) if not log.problem else ()
    return Remembered(committee, incidents)


def unseen(current: Remembered, known: Remembered) -> Remembered:
    """The restrictions in `current` that `known` does not hold yet (what to record)."""
    keys = known.keys()
    return Remembered(tuple(r for r in current.committee if r.hash not in keys),
                      tuple(i for i in current.incidents if open_hash(i) not in keys))


def to_records(remembered: Remembered) -> dict[str, list[dict[str, Any]]]:
    return {"committee": [r.model_dump(mode="json") for r in remembered.committee],
            "incidents": [to_snapshot(i) for i in remembered.incidents]}


def from_records(batches: Iterable[dict[str, Any]]) -> Remembered:
    """Merge stored batches; an unreadable entry is skipped (it was validated when stored)."""
    committee: dict[str, CommitteeRecord] = {}
    incidents: dict[str, Incident] = {}
    for batch in batches:
        for raw in batch.get("committee", ()):
            try:
                record = CommitteeRecord.model_validate(raw)
            except ValidationError:
                continue
            committee.setdefault(record.hash, record)
        for raw in batch.get("incidents", ()):
            try:
                incident = from_snapshot(raw)
            except (ValidationError, KeyError, TypeError):
                continue
            incidents.setdefault(open_hash(incident), incident)
    return Remembered(tuple(committee.values()), tuple(incidents.values()))


def lost_from_register(register: Register, remembered: Remembered) -> list[CommitteeRecord]:
    present = {r.hash for r in register.records}
    return [r for r in remembered.committee if r.hash not in present]


def lost_from_log(log: IncidentLog, remembered: Remembered) -> list[Incident]:
    return lost_incidents(log, remembered.incidents)
