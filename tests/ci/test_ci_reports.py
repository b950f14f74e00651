from pathlib import Path
from xml.etree import ElementTree as ET

from aisec_pipeline.ci_reports import checks_for, sarif, write_junit
from aisec_pipeline.governance.decision import Decision

APPROVED = Decision("good", "1.0", "low", True, (), {"artifact_scan": "passed", "model_card": "passed"})
BLOCKED = Decision("bad", "2.0", "high", False,
                   ("artifact_scan: failed: weights.bin: pickle.dangerous-global builtins.exec",
                    "model_card: failed: owner.name: a group alias",
                    "committee register: block recorded on 2026-11-01"),
                   {"artifact_scan": "failed", "model_card": "failed"})


def test_reasons_are_routed_to_their_checks():
    checks = checks_for(BLOCKED)
    assert checks["artifact_scan"] and checks["model_card"]
    assert checks["governance"] == ["committee register: block recorded on 2026-11-01"]
    assert all(not reasons for reasons in checks_for(APPROVED).values())


def test_sarif_has_one_result_per_failing_check_with_stable_rules():
    doc = sarif([APPROVED, BLOCKED], Path("assets/models"))
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["aisec/artifact_scan", "aisec/governance", "aisec/model_card"]
    uris = {r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris["aisec/model_card"] == "assets/models/bad/card.md"
    assert uris["aisec/artifact_scan"] == "assets/models/bad/model.yaml"
    rule_ids = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids


def test_junit_one_case_per_model_and_check(tmp_path):
    write_junit(tmp_path / "gate.xml", [APPROVED, BLOCKED])
    root = ET.parse(tmp_path / "gate.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["good"].get("failures") == "0"
    assert suites["bad"].get("failures") == "3"
    cases = [c.get("name") for c in suites["bad"].iter("testcase")]
    assert cases == ["artifact_scan", "model_card", "governance"]
    failing = [c for c in suites["bad"].iter("testcase") if c.find("failure") is not None]
    assert len(failing) == 3
