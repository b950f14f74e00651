"""decide(): tiers, committee decisions, tampering, use cases and incidents change the outcome."""

from __future__ import annotations

from datetime import date, timedelta

from signing import demo_signer

from aisec_pipeline.governance.committee import REGISTER_FILE
from aisec_pipeline.governance.incidents import INCIDENT_FILE
from aisec_pipeline.governance.incidents import PAYLOAD_TYPE as INCIDENT_TYPE
from aisec_pipeline.governance.incidents import record_event
from aisec_pipeline.governance.policy import POLICY_FILE
from aisec_pipeline.verdict import Status, Verdict


def _record(inv, model, decision="approve", digest=None, **kw):
    return inv.record(model, decision, digest=digest, **kw)


def _decide(inv, model, verdicts, now, **kw):
    return inv.decide(model, verdicts, now, **kw)


# --- risk tiers -------------------------------------------------------------------------------

def test_a_clean_low_tier_model_with_a_signed_review_is_approved(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("plain")
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert decision.approved, decision.reasons
    assert decision.tier == "low" and decision.reviewers == ("Jonas Weber on 2026-11-24",)
    assert decision.policy_version == 1


def test_tiers_change_freshness_and_approval_demands(gov_inventory, clean_verdicts, now):
    verdicts = clean_verdicts(age_hours=200)  # older than high's 168 h, within medium's 720 h
    low = gov_inventory.add_model("low-one", tier="low")
    medium = gov_inventory.add_model("medium-one", tier="medium")
    high = gov_inventory.add_model("high-one", tier="high")
    assert _decide(gov_inventory, low, verdicts, now).approved
    assert _decide(gov_inventory, medium, verdicts, now).approved
    blocked = _decide(gov_inventory, high, verdicts, now)
    assert blocked.tier == "high" and not blocked.approved
    assert any("stale" in r and "limit 168 h" in r for r in blocked.reasons)
    assert any("requires an approval" in r and high.entry.digest in r for r in blocked.reasons)


def test_editing_the_policy_changes_what_a_tier_demands(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("edited-policy", tier="low")
    assert _decide(gov_inventory, model, clean_verdicts(), now).approved

    def require_approval(policy):
        policy["tiers"]["low"]["require_committee_approval"] = True
    gov_inventory.edit_yaml(POLICY_FILE, require_approval)
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved
    assert any("tier low requires an approval" in r for r in decision.reasons)


def test_missing_or_failed_evidence_blocks(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("missing")
    verdicts = clean_verdicts()
    verdicts["artifact_scan"] = Verdict("artifact_scan", Status.UNASSESSED, ("scanner crashed",))
    del verdicts["model_card"]
    decision = _decide(gov_inventory, model, verdicts, now)
    assert not decision.approved
    assert "artifact_scan: unassessed: scanner crashed" in decision.reasons
    assert any(r.startswith("model_card: not assessed") for r in decision.reasons)


def test_prohibited_practice_is_blocked_even_when_approved(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("social-scoring", category="prohibited")
    _record(gov_inventory, model, "approve")
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved
    assert any("prohibited practice" in r for r in decision.reasons)


# --- committee decisions ----------------------------------------------------------------------

def test_committee_block_stops_a_clean_model_until_a_later_approval(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("blocked-one")
    _record(gov_inventory, model, "block", rationale="vendor cannot explain training data")
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved
    assert any("blocked by record 1" in r and "vendor cannot explain" in r and "Priya Raman" in r
               for r in decision.reasons)
    assert decision.evidence["committee"] == "failed"
    _record(gov_inventory, model, "approve", decided_on=date(2026, 11, 20), conditions=["monthly review"])
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert decision.approved, decision.reasons
    assert decision.conditions[0] == "monthly review" and "DEMO keys" in decision.conditions[-1]


def test_a_block_binds_the_model_even_after_its_artifact_changes(gov_inventory, clean_verdicts, now):
    old = gov_inventory.add_model("swapped", version="1.0.0")
    _record(gov_inventory, old, "block")
    new = gov_inventory.add_model("swapped", version="1.0.1")
    assert new.entry.digest != old.entry.digest
    decision = _decide(gov_inventory, new, clean_verdicts(), now)
    assert not decision.approved and any("blocked by record 1" in r for r in decision.reasons)


def test_deferral_blocks_until_its_date(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("deferred")
    _record(gov_inventory, model, "defer", defer_until=now.date() + timedelta(days=3),
            rationale="await the fairness re-run")
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved
    assert any(f"deferred until {now.date() + timedelta(days=3)}" in r for r in decision.reasons)
    the_day_before = now + timedelta(days=2)
    assert not _decide(gov_inventory, model, clean_verdicts(), the_day_before).approved
    on_the_date = now + timedelta(days=3)
    assert _decide(gov_inventory, model, clean_verdicts(), on_the_date).approved


def test_high_tier_needs_an_approval_of_this_exact_digest(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("exact", tier="high")
    _record(gov_inventory, model, "approve", digest="ab" * 32)
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved
    assert any("requires an approval of this exact artifact digest" in r for r in decision.reasons)
    _record(gov_inventory, model, "approve", conditions=["human reviews every denial"])
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert decision.approved, decision.reasons
    assert decision.conditions[:1] == ("human reviews every denial",)
    assert decision.digest == model.entry.digest


def test_approval_expires_after_the_tiers_period(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("expiring", tier="high")  # high: approvals valid 180 days
    _record(gov_inventory, model, "approve", decided_on=now.date() - timedelta(days=179))
    assert _decide(gov_inventory, model, clean_verdicts(), now).approved
    later = now + timedelta(days=1)
    decision = _decide(gov_inventory, model, clean_verdicts(), later)
    assert not decision.approved
    assert any("expired on" in r and "valid 180 days" in r for r in decision.reasons)


def test_a_lapsed_deferral_on_a_high_tier_still_needs_an_approval(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("lapsed", tier="high")
    _record(gov_inventory, model, "approve", decided_on=date(2026, 11, 1))
    _record(gov_inventory, model, "defer", decided_on=date(2026, 11, 2), defer_until=date(2026, 11, 10))
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved
    assert any("deferral record 2" in r and "ended on 2026-11-10" in r for r in decision.reasons)


def test_tampered_register_blocks_every_model(gov_inventory, clean_verdicts, now):
    first = gov_inventory.add_model("first")
    second = gov_inventory.add_model("second")
    _record(gov_inventory, first, "approve")
    _record(gov_inventory, second, "approve")
    path = gov_inventory.root / REGISTER_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0].replace("reviewed", "reviewed!") + lines[1])
    for model in (first, second):
        decision = _decide(gov_inventory, model, clean_verdicts(), now)
        assert not decision.approved
        tampered = [r for r in decision.reasons if r.startswith("committee register tampered at line 1:")]
        assert tampered and "every model" in tampered[0]


# --- use cases and incidents ------------------------------------------------------------------

def test_a_use_case_outside_the_card_blocks_naming_it(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("repurposed")
    ok = _decide(gov_inventory, model, clean_verdicts(), now, use_case="invoice-triage",
                 validated_use_cases=["invoice-triage", "supplier-lookup"])
    assert ok.approved and ok.use_case == "invoice-triage"
    bad = _decide(gov_inventory, model, clean_verdicts(), now, use_case="credit-scoring",
                  validated_use_cases=["invoice-triage", "supplier-lookup"])
    assert not bad.approved
    assert any("'credit-scoring'" in r and "invoice-triage, supplier-lookup" in r for r in bad.reasons)
    unknown = _decide(gov_inventory, model, clean_verdicts(), now, use_case="invoice-triage",
                      validated_use_cases=None)
    assert not unknown.approved


def test_open_serious_incident_blocks_and_closing_unblocks(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("incident-prone")
    other = gov_inventory.add_model("bystander")
    path = gov_inventory.root / INCIDENT_FILE
    record_event(path, "open", actor="Grace Hopper", what="minor typo in output", model=model.name,
                 version="1.0.0", severity="medium", aware_at=now - timedelta(days=1))
    assert _decide(gov_inventory, model, clean_verdicts(), now).approved  # not serious
    opened = record_event(path, "open", actor="Grace Hopper", what="wrongly denied 40 claims",
                          model=model.name, version="1.0.0", severity="serious",
                          aware_at=now - timedelta(days=1))
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved and decision.evidence["incidents"] == "failed"
    assert any(opened.incident_id in r and "wrongly denied 40 claims" in r for r in decision.reasons)
    assert _decide(gov_inventory, other, clean_verdicts(), now).approved
    record_event(path, "close", actor="Helen Okafor", what="rolled back", incident_id=opened.incident_id,
                 sign=demo_signer("Helen Okafor", INCIDENT_TYPE), now=now - timedelta(hours=1))
    assert _decide(gov_inventory, model, clean_verdicts(), now).approved


def test_read_governance_reads_the_inventory_once(gov_inventory, clean_verdicts, now):
    from aisec_pipeline.governance.decision import read_governance
    from aisec_pipeline.governance.regulations import REGULATIONS_FILE
    model = gov_inventory.add_model("wired")
    _record(gov_inventory, model, "block")
    governance = read_governance(gov_inventory.root, gov_inventory.policy(), now)
    assert governance.reporting.default_days == 15 and governance.policy_trust.trusted
    assert not _decide(gov_inventory, model, clean_verdicts(), now).approved
    (gov_inventory.root / REGULATIONS_FILE).unlink()
    assert read_governance(gov_inventory.root, gov_inventory.policy(), now).reporting is None


# --- evidence too thin to judge: needs review, or the committee's explicit acceptance ----------

def _insufficient(kind, now):
    from aisec_pipeline.governance.decision import stamp
    return stamp(Verdict(kind, Status.UNASSESSED, ("needs review: sex=other n=12 < minimum 30 for fpr",),
                         {"outcome": "insufficient"}), now)


def test_insufficient_evidence_needs_review_until_the_committee_accepts_this_digest(
        gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("thin-data")
    verdicts = {**clean_verdicts(), "model_card": _insufficient("model_card", now)}
    blocked = _decide(gov_inventory, model, verdicts, now)
    assert not blocked.approved
    assert any("needs review" in r and "--decision accept" in r for r in blocked.reasons)
    _record(gov_inventory, model, "accept", digest="cd" * 32, rationale="other digest")
    assert not _decide(gov_inventory, model, verdicts, now).approved
    _record(gov_inventory, model, "accept", rationale="thin segments reviewed by hand")
    accepted = _decide(gov_inventory, model, verdicts, now)
    assert accepted.approved, accepted.reasons
    assert any("accepted by committee record" in c for c in accepted.conditions)
    path = gov_inventory.root / REGISTER_FILE
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    assert not _decide(gov_inventory, model, verdicts, now).approved, "a removed acceptance still counted"


def test_an_acceptance_is_not_an_approval(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("needs-approval", tier="high")
    _record(gov_inventory, model, "accept", rationale="thin segments reviewed")
    decision = _decide(gov_inventory, model, clean_verdicts(), now)
    assert not decision.approved
    assert any("requires an approval" in r for r in decision.reasons)
