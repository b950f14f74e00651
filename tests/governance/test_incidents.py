"""Incidents: event log, Art. 73 deadlines from configuration, the incidents verdict."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from aisec_pipeline.governance.incidents import (INCIDENT_FILE, incident_verdict, load_incidents,
                                                 record_event, reporting_deadline)
from aisec_pipeline.trust.ledger import LedgerError
from aisec_pipeline.governance.regulations import REGULATIONS_FILE, load_regulations
from aisec_pipeline.verdict import Status

AWARE = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def _open(root, severity="serious", circumstances=(), model="claims-bot", aware_at=AWARE):
    return record_event(root / INCIDENT_FILE, "open", actor="Grace Hopper", what="denied claims",
                        model=model, version="2.0.0", severity=severity, aware_at=aware_at,
                        circumstances=circumstances)


def _only_incident(root):
    log = load_incidents(root)
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
    deadline = reporting_deadline(_only_incident(gov_inventory.root), rules)
    assert deadline.due_at == AWARE + timedelta(days=days)
    assert deadline.days == days and deadline.basis.startswith("Art. 73(")


def test_deadline_days_come_from_configuration(gov_inventory):
    def shorten(data):
        data["eu_ai_act"]["serious_incident_reporting"]["rules"][2]["days"] = 7  # death
    gov_inventory.edit_yaml(REGULATIONS_FILE, shorten)
    rules = load_regulations(gov_inventory.root).eu_ai_act.serious_incident_reporting
    _open(gov_inventory.root, circumstances=("death",))
    assert reporting_deadline(_only_incident(gov_inventory.root), rules).due_at == AWARE + timedelta(days=7)


def test_events_fold_into_incident_state(gov_inventory):
    root = gov_inventory.root
    opened = _open(root, severity="high")
    assert opened.incident_id == "INC-0001"
    record_event(root / INCIDENT_FILE, "update", actor="Alan Turing", what="now known to be serious",
                 incident_id="INC-0001", severity="serious", circumstances=["death"],
                 reported_at=AWARE + timedelta(days=1))
    incident = _only_incident(root)
    assert incident.serious and incident.is_open and incident.circumstances == ("death",)
    assert incident.reported_at == AWARE + timedelta(days=1) and len(incident.events) == 2
    record_event(root / INCIDENT_FILE, "close", actor="Alan Turing", what="model rolled back",
                 incident_id="INC-0001")
    assert not _only_incident(root).is_open
    assert _open(root).incident_id == "INC-0002"


@pytest.mark.parametrize("event, kwargs, message", [
    ("update", {"incident_id": "INC-0009"}, "unknown incident INC-0009"),
    ("close", {"incident_id": "INC-0001"}, "already closed"),
    ("open", {"model": "claims-bot", "version": "1"}, "severity"),
    ("open", {"model": "claims-bot", "version": "1", "severity": "catastrophic",
              "aware_at": AWARE}, "severity"),
    ("open", {"model": "claims-bot", "version": "1", "severity": "low",
              "aware_at": datetime(2026, 11, 20, 9, 30)}, "time zone"),
])
def test_invalid_events_are_refused(gov_inventory, event, kwargs, message):
    _open(gov_inventory.root)
    record_event(gov_inventory.root / INCIDENT_FILE, "close", actor="A B", what="done",
                 incident_id="INC-0001")
    before = (gov_inventory.root / INCIDENT_FILE).read_text()
    with pytest.raises(LedgerError, match=message):
        record_event(gov_inventory.root / INCIDENT_FILE, event, actor="A B", what="x", **kwargs)
    assert (gov_inventory.root / INCIDENT_FILE).read_text() == before


def test_verdict_fails_on_open_serious_incident_with_deadline(gov_inventory):
    rules = load_regulations(gov_inventory.root).eu_ai_act.serious_incident_reporting
    _open(gov_inventory.root, circumstances=("death",))
    _open(gov_inventory.root, severity="low", model="other-bot")
    log = load_incidents(gov_inventory.root)
    now = AWARE + timedelta(days=11)
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
    log = load_incidents(gov_inventory.root)
    assert log.problem.startswith("line 1:")
    verdict = incident_verdict(log, "any-model")
    assert verdict.status is Status.FAILED and "tampered" in verdict.reasons[0]
