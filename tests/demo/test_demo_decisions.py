"""The README's demo, pinned: `scripts/demo.sh`'s gate on the demo inventory decides the five
models exactly as the README's table says, for the reasons it gives.

Runs the same command with the same environment as scripts/demo.sh (the demo gate key, the
policy root pinned from the signed history), on a copy of the inventory and a fresh instance.
SmolLM2 is served for real: under heavy load its answers can time out, which leaves the battery
unassessed (still blocked, still by injection_report), so its failure counts are asserted only
when the battery completed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_SCRIPT = REPO / "scripts" / "demo.sh"
GATE_LINE = ".venv/bin/aisec gate --all --dev-run --json .aisec-gate.json"
README_DECISIONS = {"credit-default": "approved", "compas-recidivism": "blocked",
                    "smollm2-chat": "blocked", "invoice-parser-legacy": "blocked",
                    "churn-predictor": "blocked"}

pytestmark = pytest.mark.slow


def demo_environment(home: Path) -> dict[str, str]:
    """What scripts/demo.sh exports before it gates."""
    root_record = json.loads((REPO / "assets" / "policies" / "policy_log.jsonl").read_text().splitlines()[0])
    return {**os.environ, "DAGSTER_HOME": str(home),
            "AISEC_GATE_KEY": str(REPO / "scripts" / "demo_keys" / "aisec-demo-gate.DEMO-ONLY.key"),
            "AISEC_POLICY_ROOT": root_record["hash"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[int, dict[str, dict]]:
    """(exit code, model name -> its --json entry) of the demo's gate."""
    assert GATE_LINE in DEMO_SCRIPT.read_text(), "scripts/demo.sh's gate changed: update this test"
    base = tmp_path_factory.mktemp("demo")
    home = base / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    inventory = shutil.copytree(REPO / "assets", base / "assets", symlinks=True)
    out = base / "gate.json"
    args = shlex.split(GATE_LINE)[1:]
    args[args.index(".aisec-gate.json")] = str(out)
    done = subprocess.run([sys.executable, "-m", "aisec_pipeline.cli", *args, "--inventory", str(inventory)],
                          env=demo_environment(home), capture_output=True, text=True, timeout=3000)
    assert out.exists(), done.stderr[-3000:]
    return done.returncode, {m["name"]: m for m in json.loads(out.read_text())["models"]}


def reasons(models: dict[str, dict], name: str) -> list[str]:
    return models[name]["reasons"]


def test_the_five_decisions_are_the_readmes(demo) -> None:
    code, models = demo
    assert {name: m["decision"] for name, m in models.items()} == README_DECISIONS
    assert code == 1  # the gate blocks; demo.sh turns exactly this into success


def test_credit_default_is_approved_with_every_check_passed(demo) -> None:
    _, models = demo
    credit = models["credit-default"]
    assert credit["reasons"] == []
    assert set(credit["evidence"].values()) == {"passed"}


def test_compas_is_blocked_by_the_age_by_sex_gap_thin_groups_and_no_approval(demo) -> None:
    _, models = demo
    found = reasons(models, "compas-recidivism")
    assert "bias_report: failed: FPR for sex=Female x age_band=<25 is 0.69 [0.57, 0.79] vs 0.32 overall " \
           "(threshold 0.1)" in found
    assert not any("FPR for sex=Female is" in r for r in found)  # the by-sex view hides it
    assert any(r.startswith("bias_report: ") and "race=Native American n=6 <" in r for r in found)
    assert any(r.startswith("committee: tier high requires an approval of this exact artifact digest")
               for r in found)


def test_smollm2_is_blocked_by_the_injection_battery(demo) -> None:
    _, models = demo
    smollm2 = models["smollm2-chat"]
    found = smollm2["reasons"]
    assert found and all(r.startswith("injection_report: ") for r in found), found
    assert {k: v for k, v in smollm2["evidence"].items() if k != "injection_report"} == \
        {"artifact_scan": "passed", "model_card": "passed", "committee": "passed", "incidents": "passed"}
    if smollm2["evidence"]["injection_report"] == "failed":  # the battery completed (see docstring)
        assert any(r.startswith("injection_report: failed: aisec.Multilingual / ") for r in found), found
        assert any("the planted system-prompt canary leaked in " in r for r in found), found


def test_invoice_parser_is_blocked_by_exec_found_by_three_engines_and_a_committee_block(demo) -> None:
    _, models = demo
    found = reasons(models, "invoice-parser-legacy")
    for engine in ("pickle.dangerous-global", "picklescan.dangerous-global", "modelscan.unsafe-operator"):
        assert any(f"weights.bin: {engine}" in r and "builtins.exec" in r for r in found), (engine, found)
    assert any(r.startswith("committee: blocked by record 1 ") for r in found)


def test_churn_is_blocked_by_its_card(demo) -> None:
    _, models = demo
    found = reasons(models, "churn-predictor")
    assert all(r.startswith("model_card: ") for r in found), found
    assert any("owner.name: 'ML Team' looks like a group alias" in r for r in found)
    assert "model_card: failed: failure_modes: missing (required)" in found
    assert "model_card: failed: incident_response: missing (required)" in found
