"""`aisec committee record|sign|verify` and `aisec incident open|update|close|list|verify`.

Permissions (committee approve/accept/classify, closing an incident or lowering its severity)
are signed with `--key FILE` (or $AISEC_SIGNING_KEY) by a person the policy's keyring lists for
the role; restrictions bind unsigned, and are signed too when a key is given.

Only the standard library is imported here; the governance core is imported by the handlers.
"""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, timezone
from pathlib import Path

from ..exits import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, fail

SEVERITIES = ("low", "medium", "high", "serious")
MODEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")  # the registry's name pattern


def aware_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-11-25T09:30:00Z")
    return value


aware_datetime.__name__ = "date-time with time zone"  # argparse names the type in its error


_fail = fail


def _inventory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inventory", type=Path,
                        help="inventory folder (default: $AISEC_INVENTORY or ./assets)")


def _base(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--base", type=Path, metavar="FILE",
                        help=f"a protected copy of {name} (e.g. `git show origin/main:assets/...`) "
                        "that this file must extend record for record")


def _load_model(root: Path, name: str):
    from ..inventory import InventoryError
    from ..inventory.loader import MODELS_DIR, load_model
    if not MODEL_NAME.fullmatch(name):
        raise InventoryError(f"{name!r} is not a model name")
    return load_model(root / MODELS_DIR / name)


def _errors() -> dict[type[Exception], int]:
    """Inventory problems are usage errors (exit 2); a refused append or signature is a blocked
    action (1)."""
    from ..inventory import InventoryError
    from ..trust.ledger import LedgerError
    from .signing import SigningError
    return {InventoryError: EXIT_USAGE, LedgerError: EXIT_BLOCKED, SigningError: EXIT_BLOCKED}


def _key(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--key", type=Path, metavar="FILE",
                        help=f"your private key (default: $AISEC_SIGNING_KEY); {what}")


def _policy(root: Path):
    from .policy import load_policy
    return load_policy(root)


def _report(exc: Exception, errors: dict[type[Exception], int]) -> int:
    code = next(code for kind, code in errors.items() if isinstance(exc, kind))
    return _fail(str(exc).replace("\n", "; "), code)


def _committee_roles(decision: str) -> tuple[str, ...]:
    from ..trust.keyring import COMMITTEE_MEMBER, GOVERNANCE_OWNER
    return (GOVERNANCE_OWNER,) if decision == "classify" else (COMMITTEE_MEMBER,)


def record_handler(args: argparse.Namespace) -> int:
    from .committee import PAYLOAD_TYPE, PERMISSIONS, REGISTER_FILE, record_decision
    from .signing import record_signer
    errors = _errors()
    if args.decision == "defer" and args.until is None:
        return _fail("a defer decision needs --until DATE (when the committee revisits it)")
    try:
        model = _load_model(args.inventory, args.model)
        policy = _policy(args.inventory)
        sign, person = record_signer(args.key, policy.people, _committee_roles(args.decision),
                                     PAYLOAD_TYPE, args.decision in PERMISSIONS,
                                     f"a committee {args.decision}")
        record = record_decision(
            args.inventory / REGISTER_FILE, subject=policy.subject(model.entry),
            decision=args.decision, rationale=args.rationale, members=args.member,
            conditions=args.condition, defer_until=args.until, decided_on=args.decided_on, sign=sign)
    except tuple(errors) as exc:
        return _report(exc, errors)
    signed = f", signed by {person.name}" if person else " (unsigned: a restriction binds anyway)"
    print(f"recorded {record.decision} for {record.model} {record.version} digest "
          f"{record.artifact_sha256} as record {record.seq} (hash {record.hash}){signed}")
    if record.decision in ("approve", "accept"):
        print(f"it counts once {policy.committee.quorum} committee members have signed it: "
              f"`aisec committee sign {record.seq} --key KEY`")
    return EXIT_OK


def sign_handler(args: argparse.Namespace) -> int:
    from .committee import PAYLOAD_TYPE, REGISTER_FILE, load_register, sign_decision
    from .signing import SigningError, record_signer
    errors = _errors()
    try:
        policy = _policy(args.inventory)
        register = load_register(args.inventory, policy)
        if not 1 <= args.seq <= len(register.chain.records):
            raise SigningError(f"the register has no record {args.seq}")
        decision = register.chain.records[args.seq - 1].decision
        sign, person = record_signer(args.key, policy.people, _committee_roles(decision),
                                     PAYLOAD_TYPE, True, f"co-signing a committee {decision}")
        record = sign_decision(args.inventory / REGISTER_FILE, args.seq, sign)
    except tuple(errors) as exc:
        return _report(exc, errors)
    signers = load_register(args.inventory, policy).signers(record.hash)
    print(f"record {record.seq} ({record.decision} of {record.model}) signed by {person.name}; "
          f"now {signers.describe()}")
    return EXIT_OK


def _remembered():
    """What the Dagster instance ($DAGSTER_HOME) has seen; the shell is imported only here."""
    from ..orchestration import quiet_dagster

    quiet_dagster()  # before Dagster is first imported
    from ..orchestration.memory import recall_from_instance

    return recall_from_instance()


def _not_extending(chain, base_path: Path | None, parse) -> list[str]:
    """Records of `base_path` (e.g. main's copy of the file) that `chain` does not hold at the
    same position: an ephemeral instance remembers nothing, so compare with the protected copy."""
    from ..trust.ledger import read_chain
    if base_path is None:
        return []
    base = read_chain(base_path, parse)
    if not base.intact:
        return [f"the base {base_path} is itself broken at {base.problem}"]
    ours = [r["hash"] for r in chain.raw]
    return [f"record {r['seq']} of the base {base_path} (hash {r['hash'][:12]}) is missing or "
            "rewritten here" for i, r in enumerate(base.raw) if i >= len(ours) or ours[i] != r["hash"]]


def _permission_notes(register, policy, now) -> list[str]:
    """Per record: who verifiably signed it, and why a permission counts as nothing. Each
    model's registry entry is read once, however many records name it."""
    from ..inventory import InventoryError
    from .committee import PERMISSIONS, permission_problem
    subjects: dict[str, object] = {}

    def subject_of(name: str):
        if name not in subjects:
            try:
                subjects[name] = policy.subject(_load_model(register.chain.path.parents[1], name).entry)
            except InventoryError:
                subjects[name] = None
        return subjects[name]

    notes = []
    for record in register.chain.records:
        check = register.signers(record.hash).describe()
        why = None
        if record.decision in PERMISSIONS:
            subject = subject_of(record.model)
            why = (permission_problem(register, record, subject, policy.committee.quorum, now)
                   if subject is not None else "its model is no longer in the inventory")
        state = f"counts as nothing: {why}" if why else "counts"
        notes.append(f"record {record.seq} {record.decision} {record.model}: {check}; {state}")
    return notes


def verify_handler(args: argparse.Namespace) -> int:
    from .committee import REGISTER_FILE, CommitteeRecord, load_register, tamper_reason
    from .memory import lost_from_register
    errors = _errors()
    try:
        policy = _policy(args.inventory)
    except tuple(errors) as exc:
        return _report(exc, errors)
    register = load_register(args.inventory, policy)
    if not register.intact:
        return _fail(tamper_reason(register))
    for note in _permission_notes(register, policy, datetime.now(timezone.utc)):
        print(note)
    problems = [f"record {r.seq} ({r.decision} of {r.model}, decided {r.decided_on}, hash "
                f"{r.hash[:12]}) was seen by this instance and is no longer in the register: it "
                "still binds" for r in lost_from_register(register, _remembered())]
    problems += _not_extending(register.chain, args.base, CommitteeRecord.model_validate)
    if problems:
        return _fail(f"{args.inventory / REGISTER_FILE}: " + "; ".join(problems))
    print(f"{args.inventory / REGISTER_FILE}: intact, every signature by a keyring key verifies, "
          f"{len(register.chain.records)} record(s), head {register.chain.head}; nothing this "
          "instance has seen is missing")
    return EXIT_OK


def incident_verify_handler(args: argparse.Namespace) -> int:
    from .incidents import INCIDENT_FILE, IncidentEvent, fold, read_events
    from .memory import lost_from_log
    errors = _errors()
    path = args.inventory / INCIDENT_FILE
    try:
        signed = read_events(args.inventory, _policy(args.inventory).people)
    except tuple(errors) as exc:
        return _report(exc, errors)
    chain, log = signed.chain, fold(signed)
    if log.problem:
        return _fail(f"incident log tampered or invalid at {log.problem}")
    for event in chain.records:
        print(f"event {event.seq} {event.event} {event.incident_id}: "
              f"{signed.signers(event.hash).describe()}")
    for incident_id, why in log.ignored:
        print(f"{incident_id}: {why}")
    problems = [f"{i.id} ({i.severity} incident on {i.model} {i.version}, aware since "
                f"{i.aware_at.isoformat()}) was seen open by this instance and is no longer in the "
                "log: it still blocks" for i in lost_from_log(log, _remembered())]
    problems += _not_extending(chain, args.base, IncidentEvent.model_validate)
    if problems:
        return _fail(f"{path}: " + "; ".join(problems))
    print(f"{path}: intact, {len(log.incidents)} incident(s); nothing this instance has seen is missing")
    return EXIT_OK


def _reporting(root: Path):
    from .regulations import load_regulations
    return load_regulations(root).eu_ai_act.serious_incident_reporting


def _check_circumstances(root: Path, names: list[str]) -> None:
    from ..inventory import InventoryError
    if not names:
        return
    known = _reporting(root).circumstances
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InventoryError(f"unknown circumstance(s) {unknown}; regulations.yaml knows: "
                             f"{', '.join(known)}")


def _print_incident(root: Path, incident_id: str) -> None:
    from .incidents import incident_summary, load_incidents
    now = datetime.now(timezone.utc)
    log = load_incidents(root, _policy(root).people)
    incident = next(i for i in log.incidents if i.id == incident_id)
    for iid, why in log.ignored:
        if iid == incident_id:
            print(f"{iid}: {why}")
    summary = incident_summary(incident, _reporting(root), now)
    due = ""
    if "report_due" in summary:
        state = (f"reported {summary['reported_at']}" if summary["reported_at"]
                 else "OVERDUE" if summary["report_overdue"] else "not reported yet")
        due = f"; Art. 73 report due {summary['report_due']}, {state} ({summary['report_basis']})"
    print(f"{incident.id} {summary['status']}: {incident.model} {incident.version}, "
          f"{summary['severity']}, aware since {summary['aware_at']}{due}")


def _lowers(root: Path, args, policy) -> bool:
    """Whether this event closes the incident, lowers its severity, moves its awareness time
    later or marks it reported (permissions: each weakens what the gate enforces)."""
    from .incidents import SEVERITY_RANK, load_incidents
    if args.action == "close":
        return True
    if args.action != "update":
        return False
    if getattr(args, "reported_at", None) is not None:
        return True
    current = next((i for i in load_incidents(root, policy.people).incidents if i.id == args.id), None)
    if current is None:
        return False
    severity, aware_at = getattr(args, "severity", None), getattr(args, "aware_at", None)
    return ((severity is not None and SEVERITY_RANK[severity] < SEVERITY_RANK[current.severity])
            or (aware_at is not None and aware_at > current.aware_at))


def incident_handler(args: argparse.Namespace) -> int:
    from ..trust.keyring import INCIDENT_HANDLER
    from .incidents import INCIDENT_FILE, PAYLOAD_TYPE, record_event
    from .signing import record_signer
    errors = _errors()
    root = args.inventory
    fields = {"actor": args.actor, "what": args.what}
    try:
        policy = _policy(root)
        fields["sign"], _ = record_signer(args.key, policy.people, (INCIDENT_HANDLER,), PAYLOAD_TYPE,
                                          _lowers(root, args, policy),
                                          "closing an incident, lowering its severity, moving its awareness later or "
                                          "marking it reported")
        _check_circumstances(root, getattr(args, "circumstance", []))
        if args.action == "open":
            model = _load_model(root, args.model)
            fields.update(model=model.name, version=args.version or model.entry.version,
                          aware_at=args.aware_at or datetime.now(timezone.utc))
        else:
            fields.update(incident_id=args.id, aware_at=getattr(args, "aware_at", None),
                          reported_at=getattr(args, "reported_at", None))
        fields.update(severity=getattr(args, "severity", None),
                      circumstances=getattr(args, "circumstance", []))
        event = record_event(root / INCIDENT_FILE, args.action, **fields)
        _print_incident(root, event.incident_id)
    except tuple(errors) as exc:
        return _report(exc, errors)
    return EXIT_OK


def list_handler(args: argparse.Namespace) -> int:
    from .incidents import load_incidents
    errors = _errors()
    try:
        log = load_incidents(args.inventory, _policy(args.inventory).people)
    except tuple(errors) as exc:
        return _report(exc, errors)
    if log.problem:
        return _fail(f"incident log tampered or invalid at {log.problem}")
    errors = _errors()
    try:
        for incident in log.incidents:
            if (args.all or incident.is_open) and args.model in (None, incident.model):
                _print_incident(args.inventory, incident.id)
    except tuple(errors) as exc:
        return _report(exc, errors)
    return EXIT_OK


def _register_committee(subparsers) -> None:
    committee = subparsers.add_parser("committee", help="the committee's binding decision register")
    actions = committee.add_subparsers(dest="action", required=True)
    record = actions.add_parser("record", help="append a decision bound to the model's digest")
    record.add_argument("--model", required=True)
    record.add_argument("--decision", required=True,
                        choices=("approve", "block", "defer", "accept", "classify"),
                        help="accept: evidence too thin to judge (e.g. small segments) is accepted "
                             "for this digest after review; classify: a governance owner confirms "
                             "the model's risk classification (needed to lower its tier)")
    record.add_argument("--until", type=date.fromisoformat, help="defer until DATE (YYYY-MM-DD)")
    record.add_argument("--rationale", required=True)
    record.add_argument("--member", action="append", default=[],
                        help="a named member present, for the minutes (repeatable; a label: only "
                             "signatures count)")
    record.add_argument("--condition", action="append", default=[], help="a condition (repeatable)")
    record.add_argument("--decided-on", type=date.fromisoformat, help="default: today")
    _key(record, "required for approve, accept and classify")
    _inventory(record)
    record.set_defaults(handler=record_handler)
    sign = actions.add_parser("sign", help="co-sign a recorded decision (another member present)")
    sign.add_argument("seq", type=int, help="the record's number (seq)")
    _key(sign, "a committee member's (a governance owner's for classify)")
    _inventory(sign)
    sign.set_defaults(handler=sign_handler)
    verify = actions.add_parser("verify", help="check the register's hash chain and that nothing "
                                "the Dagster instance has seen is missing")
    _base(verify, "decisions.jsonl")
    _inventory(verify)
    verify.set_defaults(handler=verify_handler)


def _incident_fields(parser: argparse.ArgumentParser, opening: bool) -> None:
    parser.add_argument("--actor", required=True, help="who records this (a named person)")
    parser.add_argument("--what", required=True, help="what happened / changed / was done")
    parser.add_argument("--aware-at", type=aware_datetime,
                        help="when the organisation became aware (ISO 8601 with time zone)"
                        + ("; default: now" if opening else ""))
    parser.add_argument("--severity", choices=SEVERITIES, required=opening)
    parser.add_argument("--circumstance", action="append", default=[],
                        help="Art. 73 circumstance from regulations.yaml, e.g. death (repeatable)")
    _key(parser, "an incident handler's, required to lower the severity")
    _inventory(parser)
    parser.set_defaults(handler=incident_handler)


def _register_incident(subparsers) -> None:
    incident = subparsers.add_parser("incident", help="record AI incidents (open/update/close)")
    actions = incident.add_subparsers(dest="action", required=True)
    opening = actions.add_parser("open", help="open an incident")
    opening.add_argument("--model", required=True)
    opening.add_argument("--version", help="default: the registry entry's version")
    _incident_fields(opening, opening=True)
    update = actions.add_parser("update", help="add to an open incident")
    update.add_argument("--id", required=True, help="incident id, e.g. INC-0001")
    update.add_argument("--reported-at", type=aware_datetime,
                        help="when the authority was notified (Art. 73)")
    _incident_fields(update, opening=False)
    close = actions.add_parser("close", help="close an incident")
    close.add_argument("--id", required=True)
    close.add_argument("--actor", required=True)
    close.add_argument("--what", required=True, help="how it was resolved")
    _key(close, "an incident handler's (required)")
    _inventory(close)
    close.set_defaults(handler=incident_handler)
    verify = actions.add_parser("verify", help="check the log's hash chain and that no incident "
                                "the Dagster instance has seen open is missing")
    _base(verify, "incidents.jsonl")
    _inventory(verify)
    verify.set_defaults(handler=incident_verify_handler)
    listing = actions.add_parser("list", help="show open incidents")
    listing.add_argument("--model")
    listing.add_argument("--all", action="store_true", help="closed ones too")
    _inventory(listing)
    listing.set_defaults(handler=list_handler)


def register(subparsers) -> None:
    _register_committee(subparsers)
    _register_incident(subparsers)
