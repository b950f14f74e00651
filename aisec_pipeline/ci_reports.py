"""Gate decisions in CI systems' native formats: SARIF 2.1.0 and JUnit XML.

One SARIF result per failing check, with a stable rule id (`aisec/<check>`) and a location in the
inventory file a person would edit to fix it. One JUnit test case per model x check.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from . import __version__
from .evidence_kinds import REGISTRY
from .governance.decision import Decision

# check -> (short description, which inventory file a fix usually touches), from the registry
CHECKS = {kind.name: (kind.sarif_text, kind.fix_file) for kind in REGISTRY if kind.gates}
CHECKS["governance"] = ("Governance allows deployment (tier, committee, incidents, use case)",
                        "model.yaml")


def check_of(reason: str) -> str:
    """Reasons are written `<evidence kind>: ...`; anything else is a governance reason."""
    head = reason.split(":", 1)[0].strip()
    return head if head in CHECKS else "governance"


def checks_for(decision: Decision) -> dict[str, list[str]]:
    """Every check that applies to this model, with its failure reasons (empty when passed)."""
    checks: dict[str, list[str]] = {kind: [] for kind in decision.evidence if kind in CHECKS}
    checks["governance"] = []
    for reason in decision.reasons:
        checks.setdefault(check_of(reason), []).append(reason)
    return checks


def model_file(models_dir: Path, decision: Decision, check: str) -> str:
    return (models_dir / decision.model / CHECKS[check][1]).as_posix()


def sarif(decisions: list[Decision], models_dir: Path) -> dict:
    rules = [{"id": f"aisec/{check}", "name": check, "shortDescription": {"text": text}}
             for check, (text, _) in CHECKS.items()]
    results = []
    for decision in decisions:
        for check, reasons in checks_for(decision).items():
            if reasons:
                results.append({
                    "ruleId": f"aisec/{check}", "level": "error",
                    "message": {"text": f"{decision.model} {decision.version} blocked: " + "; ".join(reasons)},
                    "locations": [{"physicalLocation": {
                        "artifactLocation": {"uri": model_file(models_dir, decision, check)}}}],
                    "properties": {"model": decision.model, "version": decision.version, "tier": decision.tier},
                })
    return {"version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": {"name": "aisec", "version": __version__, "rules": rules}},
                      "results": results}]}


def junit(decisions: list[Decision]) -> ET.Element:
    suites = ET.Element("testsuites", name="aisec gate")
    for decision in decisions:
        checks = checks_for(decision)
        failures = sum(1 for reasons in checks.values() if reasons)
        suite = ET.SubElement(suites, "testsuite", name=decision.model, tests=str(len(checks)),
                              failures=str(failures))
        for check, reasons in checks.items():
            case = ET.SubElement(suite, "testcase", classname=f"aisec.{decision.model}", name=check)
            if reasons:
                failure = ET.SubElement(case, "failure", message=reasons[0][:500], type=f"aisec/{check}")
                failure.text = "\n".join(reasons)
    return suites


def write_sarif(path: Path, decisions: list[Decision], models_dir: Path) -> None:
    path.write_text(json.dumps(sarif(decisions, models_dir), indent=2) + "\n", encoding="utf-8")


def write_junit(path: Path, decisions: list[Decision]) -> None:
    tree = ET.ElementTree(junit(decisions))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
