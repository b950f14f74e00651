"""AI incidents: `assets/incidents/incidents.jsonl`, append-only open/update/close events.

The log is a hash-chained ledger like the committee register. An open serious incident blocks
new deployments of its model (every version) until it is closed. Opening an incident or raising
its severity binds whoever recorded it; closing one or lowering its severity counts only when the
event is signed by a key the policy's keyring lists for an incident handler (and is not dated in
the future): otherwise the event is ignored and the gate says so. Serious incidents carry an
EU AI Act Art. 73 reporting deadline computed from the awareness time with the rules in
`regulations.yaml`: the shortest rule matching the incident's circumstances wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from pydantic import Field, field_validator, model_validator

from ..cards.schema import named_person
from ..inventory.schema import NAME_PATTERN, SHA256_PATTERN, Strict
from ..verdict import Status, Verdict
from ..trust.keyring import INCIDENT_HANDLER, Keyring
from ..trust.ledger import Chain, LedgerError, Sign, SignatureEntry, Signed, append_record, read_chain, verify_signatures
from ..trust.subject import future_problem
from .regulations import IncidentReporting

INCIDENT_FILE = Path("incidents") / "incidents.jsonl"
INCIDENTS_KIND = "incidents"
ID_PATTERN = r"^INC-[0-9]{4,}$"


Severity = Literal["low", "medium", "high", "serious"]
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "serious": 3}
PAYLOAD_TYPE = "application/vnd.aisec.incident-event+json"



class IncidentEvent(Strict):
    seq: int = Field(ge=1)
    incident_id: str = Field(pattern=ID_PATTERN)
    event: Literal["open", "update", "close"]
    model: str | None = Field(default=None, pattern=NAME_PATTERN)  # set on open
    version: str | None = None  # set on open
    severity: Severity | None = None  # set on open; an update may change it
    what: str = Field(min_length=1)  # what happened / what changed / how it was resolved
    aware_at: datetime | None = None  # set on open; an update may correct it
    circumstances: tuple[str, ...] = ()  # Art. 73 rule names from regulations.yaml
    reported_at: datetime | None = None  # when the authority was notified
    actor: str = Field(min_length=1)
    recorded_at: datetime
    prev_hash: str = Field(pattern=SHA256_PATTERN)
    hash: str = Field(pattern=SHA256_PATTERN)
    signatures: tuple[SignatureEntry, ...] = ()

    @field_validator("what", "actor")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("actor")
    @classmethod
    def _a_named_person(cls, value: str) -> str:
        return named_person(value)

    @field_validator("aware_at", "reported_at", "recorded_at")
    @classmethod
    def _timezone_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-25T09:30:00+00:00")
        return value

    @model_validator(mode="after")
    def _open_says_what_and_when(self) -> "IncidentEvent":
        if self.event == "open":
            missing = [n for n in ("model", "version", "severity", "aware_at") if not getattr(self, n)]
            if missing:
                raise ValueError(f"an open event needs: {', '.join(missing)}")
        return self


@dataclass(frozen=True)
class Incident:
    id: str
    model: str
    version: str
    severity: Severity
    aware_at: datetime
    what: str
    opened_by: str
    circumstances: tuple[str, ...] = ()
    closed_at: datetime | None = None
    reported_at: datetime | None = None
    events: tuple[IncidentEvent, ...] = field(default=(), repr=False)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def serious(self) -> bool:
        return self.severity == "serious"


@dataclass(frozen=True)
class IncidentLog:
    incidents: tuple[Incident, ...]
    problem: str | None = None  # the ledger is broken or an event makes no sense
    head: str = ""
    ignored: tuple[tuple[str, str], ...] = ()  # (incident id, why an event of it did not count)

    def for_model(self, model: str) -> list[Incident]:
        return [i for i in self.incidents if i.model == model]


@dataclass(frozen=True)
class ReportingDeadline:
    due_at: datetime
    days: int
    basis: str
    unknown_circumstances: tuple[str, ...] = ()


def _apply(incidents: dict[str, Incident], event: IncidentEvent,
           permitted: Callable[[IncidentEvent], str | None] | None = None) -> str | None:
    """Fold one event into the incident states; ValueError when it contradicts them. What
    `permitted` refuses of a weakening event is ignored; returns why (None: applied in full)."""
    current = incidents.get(event.incident_id)
    if event.event == "open":
        if current:
            raise ValueError(f"{event.incident_id} is opened twice")
        incidents[event.incident_id] = Incident(
            event.incident_id, event.model, event.version, event.severity, event.aware_at,
            event.what, event.actor, event.circumstances, events=(event,))
        return
    if current is None:
        raise ValueError(f"{event.event} of unknown incident {event.incident_id}")
    if not current.is_open:
        raise ValueError(f"{event.event} of {event.incident_id}, which is already closed")
    refused = permitted(event) if permitted is not None and _weakens(event, current) else None
    if refused:
        event_restricting = _restricting_part(event, current)
        why = f"{event.event} event {event.seq} ({event.actor}) counts as nothing: {refused}"
        if event_restricting is None:
            return why
        event, why = event_restricting, why.replace("counts as nothing", "counts only where it restricts")
    else:
        why = None
    incidents[event.incident_id] = replace(
        current, severity=event.severity or current.severity,
        aware_at=event.aware_at or current.aware_at,
        circumstances=tuple(dict.fromkeys(current.circumstances + event.circumstances)),
        reported_at=event.reported_at or current.reported_at,
        closed_at=event.recorded_at if event.event == "close" else None,
        events=current.events + (event,))
    return why


def _weakens(event: IncidentEvent, current: Incident) -> bool:
    """Closing, a lower severity, a later awareness time (a later Art. 73 deadline) or a claim
    that the authority was notified: each weakens what the gate enforces, so each needs a
    handler's signature."""
    return (event.event == "close"
            or (event.severity is not None
                and SEVERITY_RANK[event.severity] < SEVERITY_RANK[current.severity])
            or (event.aware_at is not None and event.aware_at > current.aware_at)
            or event.reported_at is not None)


def _restricting_part(event: IncidentEvent, current: Incident) -> IncidentEvent | None:
    """An unsigned update still binds where it restricts (a higher severity, an earlier awareness
    time, new circumstances); its weakening fields are dropped. A close has no such part."""
    if event.event == "close":
        return None
    severity = event.severity if event.severity and SEVERITY_RANK[event.severity] > SEVERITY_RANK[current.severity] else None
    aware_at = event.aware_at if event.aware_at and event.aware_at < current.aware_at else None
    if severity is None and aware_at is None and not event.circumstances:
        return None
    return event.model_copy(update={"severity": severity, "aware_at": aware_at, "reported_at": None})


def _handler_signed(signed: Signed[IncidentEvent], now: datetime) -> Callable[[IncidentEvent], str | None]:
    def permitted(event: IncidentEvent) -> str | None:
        check = signed.signers(event.hash)
        if not check.with_role(INCIDENT_HANDLER):
            return (f"closing an incident or lowering its severity (or its deadline) needs the "
                    f"signature of an incident handler in the policy's keyring ({check.describe()})")
        return future_problem(event.recorded_at, now)
    return permitted


def fold(signed: Signed[IncidentEvent], now: datetime | None = None) -> IncidentLog:
    chain, now = signed.chain, now or datetime.now(timezone.utc)
    permitted = _handler_signed(signed, now)
    incidents: dict[str, Incident] = {}
    ignored = []
    for number, event in enumerate(chain.records, start=1):
        try:
            why = _apply(incidents, event, permitted)
        except ValueError as exc:
            return IncidentLog(tuple(incidents.values()), f"line {number}: {exc}", chain.head)
        if why:
            ignored.append((event.incident_id, why))
    return IncidentLog(tuple(incidents.values()), signed.problem, chain.head, tuple(ignored))


def read_events(inventory_root: Path, keyring: Keyring) -> Signed[IncidentEvent]:
    chain = read_chain(inventory_root / INCIDENT_FILE, IncidentEvent.model_validate)
    return verify_signatures(chain, PAYLOAD_TYPE, keyring)


def load_incidents(inventory_root: Path, keyring: Keyring, now: datetime | None = None) -> IncidentLog:
    """The incidents as of now; a missing file is an empty log."""
    return fold(read_events(inventory_root, keyring), now)


# --- sticky: an open serious incident once seen binds even if its lines disappear ---------------

def open_hash(incident: Incident) -> str:
    """The identity of an incident across logs: the hash of its open event."""
    return incident.events[0].hash


def to_snapshot(incident: Incident) -> dict[str, Any]:
    """What the gate remembers of an open serious incident (its open event, as recorded)."""
    return {"open_event": incident.events[0].model_dump(mode="json"), "severity": incident.severity}


def from_snapshot(snapshot: dict[str, Any]) -> Incident:
    event = IncidentEvent.model_validate(snapshot["open_event"])
    return Incident(event.incident_id, event.model, event.version, snapshot["severity"],
                    event.aware_at, event.what, event.actor, event.circumstances, events=(event,))


def restrictions(log: IncidentLog) -> list[Incident]:
    return [i for i in log.incidents if i.is_open and i.serious]


def lost_incidents(log: IncidentLog, remembered: Iterable[Incident]) -> list[Incident]:
    """Remembered open serious incidents whose open event the log no longer holds. Only a close
    event in the same chain as its open event lifts an incident, so these stay open."""
    present = {open_hash(i) for i in log.incidents}
    lost = {open_hash(i): i for i in remembered if open_hash(i) not in present}
    return list(lost.values())


def _inventory_keyring(path: Path) -> Keyring:
    from ..inventory import InventoryError
    from .policy import load_policy
    try:
        return load_policy(path.parents[1]).people
    except InventoryError as exc:
        raise LedgerError(f"{path}: the policy's keyring is needed to judge the log: {exc}") from None


def _next_id(chain: Chain[IncidentEvent]) -> str:
    return f"INC-{sum(1 for e in chain.records if e.event == 'open') + 1:04d}"


def record_event(path: Path, event: str, *, actor: str, what: str, incident_id: str | None = None,
                 model: str | None = None, version: str | None = None,
                 severity: str | None = None, aware_at: datetime | None = None,
                 circumstances: Iterable[str] = (), reported_at: datetime | None = None,
                 sign: Sign | None = None, now: datetime | None = None,
                 keyring: Keyring | None = None) -> IncidentEvent:
    """Append an open/update/close event; raises LedgerError when it is invalid (nothing written).
    The log is judged with its signatures checked against `keyring` (default: the inventory's
    policy), so a close that counts closes the incident for this check too."""
    now = now or datetime.now(timezone.utc)
    ring = keyring if keyring is not None else _inventory_keyring(path)
    fields: dict[str, Any] = {
        "event": event, "model": model, "version": version, "severity": severity, "what": what,
        "aware_at": aware_at.isoformat() if aware_at else None,
        "circumstances": list(circumstances),
        "reported_at": reported_at.isoformat() if reported_at else None,
        "actor": actor, "recorded_at": now.isoformat()}

    def build(chain: Chain[IncidentEvent]) -> dict[str, Any]:
        fields["incident_id"] = _next_id(chain) if event == "open" else incident_id
        log = fold(verify_signatures(chain, PAYLOAD_TYPE, ring), now)
        probe = IncidentEvent.model_validate({**fields, "seq": 1, "prev_hash": "0" * 64,
                                              "hash": "0" * 64})
        try:
            _apply({i.id: i for i in log.incidents}, probe)
        except ValueError as exc:
            raise LedgerError(str(exc)) from None
        return fields

    return append_record(path, build, IncidentEvent.model_validate, sign)


def reporting_deadline(incident: Incident, rules: IncidentReporting) -> ReportingDeadline:
    """Art. 73 deadline from awareness; the shortest rule matching a circumstance wins. An
    unknown circumstance cannot be matched safely, so the shortest configured deadline applies."""
    days, basis = rules.default_days, rules.default_basis
    known = {rule.circumstance: rule for rule in rules.rules}
    unknown = tuple(c for c in incident.circumstances if c not in known)
    candidates = [known[c] for c in incident.circumstances if c in known]
    if unknown:
        candidates += list(rules.rules)
    for rule in candidates:
        if rule.days < days:
            days, basis = rule.days, rule.basis
    return ReportingDeadline(incident.aware_at + timedelta(days=days), days, basis, unknown)


def incident_summary(incident: Incident, rules: IncidentReporting | None,
                     now: datetime) -> dict[str, Any]:
    summary = {"id": incident.id, "version": incident.version,
               "severity": incident.severity, "what": incident.what,
               "aware_at": incident.aware_at.isoformat(),
               "status": "open" if incident.is_open else "closed"}
    if incident.serious and rules is not None:
        deadline = reporting_deadline(incident, rules)
        summary.update(report_due=deadline.due_at.isoformat(), report_basis=deadline.basis,
                       reported_at=incident.reported_at.isoformat() if incident.reported_at else None,
                       report_overdue=incident.reported_at is None and now > deadline.due_at)
    return summary


def _blocking_reason(incident: Incident, summary: dict[str, Any]) -> str:
    reason = (f"incident {incident.id} ({incident.severity}, version {incident.version}, "
              f"aware since {incident.aware_at.isoformat()}) is open: {incident.what}; new "
              "deployments are blocked until it is closed (`aisec incident close`)")
    if "report_due" in summary:
        overdue = " (OVERDUE)" if summary["report_overdue"] else ""
        reported = f", reported {summary['reported_at']}" if summary["reported_at"] else ""
        reason += f"; Art. 73 report due {summary['report_due']}{overdue}{reported}"
    return reason


def incident_verdict(log: IncidentLog, model: str, rules: IncidentReporting | None = None,
                     now: datetime | None = None, remembered: Iterable[Incident] = ()) -> Verdict:
    """The model's incident evidence: FAILED while a serious incident is open, including one this
    instance saw open whose lines have since been removed from the log (`remembered`)."""
    now = now or datetime.now(timezone.utc)
    if log.problem:
        return Verdict(INCIDENTS_KIND, Status.FAILED, (
            f"incident log tampered or invalid at {log.problem}; the log is one chain shared by "
            "every model, so all models are blocked until it is restored from version control",))
    summaries = [(i, incident_summary(i, rules, now)) for i in log.for_model(model)]
    reasons = [_blocking_reason(i, s) for i, s in summaries if i.is_open and i.serious]
    reasons += [_blocking_reason(i, incident_summary(i, rules, now)) + LOST_INCIDENT
                for i in lost_incidents(log, remembered) if i.model == model]
    ours = {i.id for i, _ in summaries if i.is_open}
    reasons = [*reasons, *(f"incident {iid}: {why}" for iid, why in log.ignored if iid in ours and reasons)]
    figures = {"open": [s for i, s in summaries if i.is_open],
               "closed": sum(1 for i, _ in summaries if not i.is_open)}
    return Verdict(INCIDENTS_KIND, Status.FAILED if reasons else Status.PASSED, tuple(reasons), figures)


LOST_INCIDENT = ("; its lines are no longer in the incident log, but this Dagster instance saw it "
                 "open and a removed line closes nothing: restore the log from version control, "
                 "then close it with `aisec incident close`")
