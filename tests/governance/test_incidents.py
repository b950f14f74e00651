"""Incidents: event log, Art. 73 deadlines from configuration, the incidents verdict; closing an
incident or lowering its severity counts only when an incident handler signed it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from signing import demo_signer

from aisec_pipeline.governance.incidents import (INCIDENT_FILE, PAYLOAD_TYPE, incident_verdict,
                                                 load_incidents, record_event, reporting_deadline)
from aisec_pipeline.governance.regulations import REGULATIONS_FILE, load_regulations
from aisec_pipeline.trust.ledger import LedgerError
from aisec_pipeline.verdict import Status

AWARE = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
HANDLER = "Helen Okafor"  # the demo keyring's incident handler
def _open(root, severity="serious", circumstances=(), model="claims-bot", aware_at=AWARE):
    return record_event(root / INCIDENT_FILE, "open", actor="Grace Hopper", what="denied claims",
                        model=model, version="2.0.0", severity=severity, aware_at=aware_at,
                        circumstances=circumstances, now=AWARE + timedelta(hours=1))


def _event(root, event, signer=HANDLER, at=AWARE + timedelta(days=2), **kw):
    """An update or close recorded at `at`, signed by `signer`'s demo key (None: unsigned)."""
    kw.setdefault("actor", signer or "Grace Hopper")
    kw.setdefault("what", "handled")
    return record_event(root / INCIDENT_FILE, event, now=at,
                        sign=demo_signer(signer, PAYLOAD_TYPE) if signer else None, **kw)


def _log(inv, now=NOW):
    return load_incidents(inv.root, inv.policy().people, now)


def _only_incident(inv):
    log = _log(inv)
    assert log.problem is None
    return log.incidents[-1]


@pytest.mark.parametrize("circumstances, days", [
    ((), 15),
    (("widespread_infringement",), 2),
    (("critical_infrastructure",), 2),
    (("death",), 10),
    (("death", "widespread_infringement"), 2),
    (("unheard_of",), 2),  # unknown: the shortest configured deadline, never the default
])
def test_art73_deadline_from_awareness(gov_inventory, circumstances, days):
    rules = load_regulations(gov_inventory.root).eu_ai_act.serious_incident_reporting
    _open(gov_inventory.root, circumstances=circumstances)
    deadline = reporting_deadline(_only_incident(gov_inventory), rules)
    assert deadline.due_at == AWARE + timedelta(days=days)
    assert deadline.days == days and deadline.basis.startswith("Art. 73(")


def test_deadline_days_come_from_configuration(gov_inventory):
    def shorten(data):
        data["eu_ai_act"]["serious_incident_reporting"]["rules"][2]["days"] = 7  # death
    gov_inventory.edit_yaml(REGULATIONS_FILE, shorten)
    rules = load_regulations(gov_inventory.root).eu_ai_act.serious_incident_reporting
    _open(gov_inventory.root, circumstances=("death",))
    assert reporting_deadline(_only_incident(gov_inventory), rules).due_at == AWARE + timedelta(days=7)


def test_events_fold_into_incident_state(gov_inventory):
    root = gov_inventory.root
    opened = _open(root, severity="high")
    assert opened.incident_id == "INC-0001"
    _event(root, "update", signer=None, actor="Alan Turing", what="now known to be serious",
           incident_id="INC-0001", severity="serious", circumstances=["death"],
           reported_at=AWARE + timedelta(days=1))  # raising the severity restricts: unsigned is fine
    incident = _only_incident(gov_inventory)
    assert incident.serious and incident.is_open and incident.circumstances == ("death",)
    assert incident.reported_at is None, "an unsigned claim that the authority was notified counted"
    assert len(incident.events) == 2
    _event(root, "update", what="authority notified", incident_id="INC-0001",
           reported_at=AWARE + timedelta(days=1))  # signed by the incident handler
    assert _only_incident(gov_inventory).reported_at == AWARE + timedelta(days=1)
    _event(root, "close", what="model rolled back", incident_id="INC-0001")
    assert not _only_incident(gov_inventory).is_open
    assert _open(root).incident_id == "INC-0002"


@pytest.mark.parametrize("signer, words", [
    (None, "needs the signature of an incident handler in the policy's keyring (unsigned)"),
    ("Priya Raman", "(signed by Priya Raman)"),  # a committee member, not an incident handler
])
def test_a_close_or_downgrade_without_a_handler_signature_counts_as_nothing(
        gov_inventory, signer, words):
    root = gov_inventory.root
    _open(root)
    _event(root, "update", signer=signer, incident_id="INC-0001", severity="low", what="not so bad")
    _event(root, "close", signer=signer, incident_id="INC-0001", what="done")
    log = _log(gov_inventory)
    assert log.problem is None
    incident = log.incidents[0]
    assert incident.is_open and incident.serious
    assert [why.split(":")[0] for _, why in log.ignored] == [
        f"update event 2 ({signer or 'Grace Hopper'}) counts as nothing",
        f"close event 3 ({signer or 'Grace Hopper'}) counts as nothing"]
    assert all(words in why for _, why in log.ignored)
    verdict = incident_verdict(log, "claims-bot", now=NOW)
    assert verdict.status is Status.FAILED
    assert any("close event 3" in reason for reason in verdict.reasons)


def test_a_handler_signed_downgrade_counts_but_not_before_its_time(gov_inventory):
    root = gov_inventory.root
    _open(root)
    _event(root, "update", incident_id="INC-0001", severity="low", what="triaged: no harm done",
           at=NOW + timedelta(hours=1))
    later = _log(gov_inventory, NOW + timedelta(hours=2))
    assert later.incidents[0].severity == "low"
    assert incident_verdict(later, "claims-bot", now=NOW).status is Status.PASSED
    early = _log(gov_inventory, NOW)  # dated in the future as of NOW: it counts as nothing
    assert early.incidents[0].severity == "serious"
    assert "from the future" in early.ignored[0][1]


@pytest.mark.parametrize("event, kwargs, message", [
    ("update", {"incident_id": "INC-0009"}, "unknown incident INC-0009"),
    pytest.param("close", {"incident_id": "INC-0001"}, "already closed"),
    pytest.param("update", {"incident_id": "INC-0001", "what": "more"}, "already closed"),
    ("open", {"model": "claims-bot", "version": "1"}, "severity"),
    ("open", {"model": "claims-bot", "version": "1", "severity": "catastrophic",
              "aware_at": AWARE}, "severity"),
    ("open", {"model": "claims-bot", "version": "1", "severity": "low",
              "aware_at": datetime(2026, 11, 20, 9, 30)}, "time zone"),
])
def test_invalid_events_are_refused(gov_inventory, event, kwargs, message):
    """A refused event writes nothing; in particular nothing can follow a (signed) close, which
    would make the whole log invalid and block every model."""
    root = gov_inventory.root
    _open(root)
    _event(root, "close", incident_id="INC-0001", what="done")
    assert not _only_incident(gov_inventory).is_open
    before = (root / INCIDENT_FILE).read_text()
    with pytest.raises(LedgerError, match=message):
        _event(root, event, **kwargs)
    assert (root / INCIDENT_FILE).read_text() == before
    assert _log(gov_inventory).problem is None


def test_verdict_fails_on_open_serious_incident_with_deadline(gov_inventory):
    rules = load_regulations(gov_inventory.root).eu_ai_act.serious_incident_reporting
    _open(gov_inventory.root, circumstances=("death",))
    _open(gov_inventory.root, severity="low", model="other-bot")
    now = AWARE + timedelta(days=11)
    log = _log(gov_inventory, now)
    verdict = incident_verdict(log, "claims-bot", rules, now)
    assert verdict.kind == "incidents" and verdict.status is Status.FAILED
    assert "Art. 73 report due 2026-11-30T09:30:00+00:00 (OVERDUE)" in verdict.reasons[0]
    assert verdict.figures["open"][0]["report_overdue"] is True
    other = incident_verdict(log, "other-bot", rules, now)
    assert other.status is Status.PASSED and other.figures["open"][0]["severity"] == "low"


def test_tampered_incident_log_fails_every_model(gov_inventory):
    _open(gov_inventory.root)
    _open(gov_inventory.root, severity="low")
    path = gov_inventory.root / INCIDENT_FILE
    path.write_text(path.read_text().replace("serious", "low", 1))
    log = _log(gov_inventory)
    assert log.problem.startswith("line 1:")
    verdict = incident_verdict(log, "any-model")
    assert verdict.status is Status.FAILED and "tampered" in verdict.reasons[0]


def test_a_signed_close_edited_after_signing_is_tampering(gov_inventory):
    """The close's signature covers its content: editing which incident it closes, with the
    hash chain recomputed, no longer verifies."""
    import json

    from aisec_pipeline.trust.ledger import record_hash
    root = gov_inventory.root
    _open(root)
    _open(root)
    _event(root, "close", incident_id="INC-0001", what="done")
    path = root / INCIDENT_FILE
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[2]["incident_id"] = "INC-0002"
    records[2]["hash"] = record_hash(records[2])
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    log = _log(gov_inventory)
    assert log.problem.startswith("line 3: the signature of Helen Okafor does not verify")
    assert incident_verdict(log, "claims-bot").status is Status.FAILED


def test_an_unsigned_update_cannot_push_the_art73_deadline_or_claim_it_was_reported(gov_inventory):
    root = gov_inventory.root
    _open(root)
    _event(root, "update", signer=None, actor="Eve Intruder", what="we learned later",
           incident_id="INC-0001", aware_at=AWARE + timedelta(days=20),
           reported_at=AWARE + timedelta(days=1))
    incident = _only_incident(gov_inventory)
    assert incident.aware_at == AWARE and incident.reported_at is None
