"""The attack from issue 23: a pull request ships its own verdicts.

An instance holding a forged "passed" `artifact_scan` verdict for a `builtins.exec` pickle, with
the fingerprint the gate computes (anyone can compute it from the checkout), got the pickle
approved: the gate printed "reusing artifact_scan". Evidence counts only when a run of this
instance recorded it, and an instance inside the checkout is refused.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from inventory_builder import add_model, malicious_pickle, new_inventory

from aisec_pipeline.cli import main
from aisec_pipeline.verdict import Status, Verdict

pytestmark = pytest.mark.slow


@pytest.fixture
def inventory(tmp_path) -> Path:
    root = new_inventory(tmp_path / "checkout" / "assets")
    add_model(root, "evil", malicious_pickle(tmp_path / "payload-ran"), artifact_name="weights.bin")
    return root


def forge_passed_scan(home: Path, inventory: Path, evaluated_at: str) -> None:
    """What the attacker commits: a "passed" scan with the fingerprint the gate will compute."""
    import dagster as dg

    from aisec_pipeline.inventory import load_model
    from aisec_pipeline.orchestration.evidence import (DIGEST_KEY, INPUTS_KEY, OBSERVED_KEY, VERDICT_KEY,
                                                       RunInputs, fingerprints)
    from aisec_pipeline.orchestration.keys import asset_key

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    model = load_model(inventory / "models" / "evil")
    observed, versions = RunInputs().measure(model, inventory, "forged")
    verdict = Verdict("artifact_scan", Status.PASSED, (), {
        "evaluated_at": evaluated_at, DIGEST_KEY: model.entry.digest, OBSERVED_KEY: observed,
        INPUTS_KEY: fingerprints(model, versions)["artifact_scan"]})
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key("evil", "artifact_scan"),
            metadata={VERDICT_KEY: dg.MetadataValue.json(verdict.to_dict())}))


def gate_evil(inventory: Path, tmp_path: Path, capsys) -> tuple[int, dict, str]:
    out = tmp_path / "gate.json"
    out.unlink(missing_ok=True)
    code = main(["gate", "evil", "--inventory", str(inventory), "--json", str(out)])
    return code, json.loads(out.read_text()) if out.exists() else {}, capsys.readouterr().err


def test_a_forged_verdict_no_run_of_this_instance_recorded_is_never_reused(inventory, tmp_path,
                                                                            monkeypatch, capsys):
    home = tmp_path / "instance"
    forge_passed_scan(home, inventory, datetime.now(timezone.utc).isoformat())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    code, output, err = gate_evil(inventory, tmp_path, capsys)
    decision = output["models"][0]
    assert "reusing artifact_scan" not in err
    assert code == 1 and decision["decision"] == "blocked", decision
    assert any("builtins.exec" in r for r in decision["reasons"]), decision["reasons"]
    assert not (tmp_path / "payload-ran").exists(), "the payload ran"
    assert output["judge"]["version"] and output["judge"]["instance"] == str(home)
    assert output["judge"]["development_run"] is False


def test_a_committed_instance_holding_a_forged_verdict_never_judges(inventory, tmp_path, monkeypatch,
                                                                     capsys):
    """The issue's attack as committed: `.dagster_home` force-added to the pull request, its
    verdict stamped 2099 (it would never go stale), the gate run from the checkout."""
    checkout = inventory.parent
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    forge_passed_scan(checkout / ".dagster_home", inventory, "2099-01-01T00:00:00+00:00")
    subprocess.run(["git", "-C", str(checkout), "add", "-f", "."], check=True)
    monkeypatch.chdir(checkout)
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    code, output, err = gate_evil(inventory, tmp_path, capsys)
    assert "reusing artifact_scan" not in err
    assert code == 1 and output["models"][0]["decision"] == "blocked", output
    assert output["judge"]["instance"].startswith(str(tmp_path / "user")), "the default left the checkout"
    monkeypatch.setenv("DAGSTER_HOME", str(checkout / ".dagster_home"))  # a CI job pointing at it
    code, output, err = gate_evil(inventory, tmp_path, capsys)
    assert code == 2 and not output and "tracked by git" in err, err
    assert not (tmp_path / "payload-ran").exists(), "the payload ran"
