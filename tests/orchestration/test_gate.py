"""The gate end to end through a real Dagster instance: approve the clean, block the rest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aisec_pipeline.cli import main
from inventory_builder import add_model, card_text, malicious_pickle, new_inventory, safetensors_bytes

pytestmark = pytest.mark.slow


@pytest.fixture
def inventory(tmp_path):
    root = new_inventory(tmp_path / "assets")
    weights = safetensors_bytes(tmp_path)
    add_model(root, "clean-model", weights)
    add_model(root, "no-card", weights, card=False)
    add_model(root, "team-owned", weights, card=card_text("team-owned", "1.0.0", owner="ML Team",
                                                          email="ml-team@example.org"))
    add_model(root, "untrusted-source", weights, source="https://random.example/weights")
    add_model(root, "evil-pickle", malicious_pickle(tmp_path / "payload-ran"), artifact_name="weights.bin")
    return root


def gate(inventory, tmp_path, *args):
    out = tmp_path / "gate.json"
    code = main(["gate", *args, "--inventory", str(inventory), "--json", str(out)])
    return code, {m["name"]: m for m in json.loads(out.read_text())["models"]}


def test_clean_model_is_approved(inventory, tmp_path, dagster_home):
    code, models = gate(inventory, tmp_path, "clean-model")
    assert code == 0, models
    assert models["clean-model"]["decision"] == "approved"
    assert {"artifact_scan": "passed", "model_card": "passed"}.items() <= models["clean-model"]["evidence"].items()


def test_every_problem_model_is_blocked_with_reasons(inventory, tmp_path, dagster_home):
    code, models = gate(inventory, tmp_path, "--all")
    assert code == 1
    assert models["clean-model"]["decision"] == "approved"
    expectations = {"no-card": "no model card", "team-owned": "owner",
                    "untrusted-source": "allowlist", "evil-pickle": "artifact_scan"}
    for name, words in expectations.items():
        assert models[name]["decision"] == "blocked", name
        assert any(words in r for r in models[name]["reasons"]), (name, models[name]["reasons"])
    assert not (tmp_path / "payload-ran").exists(), "the malicious payload ran"


def test_changed_artifact_bytes_block(inventory, tmp_path, dagster_home):
    path = inventory / "models" / "clean-model" / "artifacts" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-4] + b"\x00\x00\x00\x01")
    code, models = gate(inventory, tmp_path, "clean-model")
    assert code == 1
    assert any("checksum mismatch" in r for r in models["clean-model"]["reasons"])


def test_usage_errors_exit_2(inventory, tmp_path, dagster_home, capsys):
    assert main(["gate", "--inventory", str(inventory)]) == 2
    assert main(["gate", "nope", "--inventory", str(inventory)]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_invalid_inventory_exits_2_without_traceback(inventory, tmp_path, dagster_home):
    (inventory / "models" / "clean-model" / "model.yaml").write_text("name: [unclosed\n")
    result = subprocess.run([sys.executable, "-m", "aisec_pipeline.cli", "gate", "--all",
                             "--inventory", str(inventory)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "invalid YAML" in result.stderr and "Traceback" not in result.stderr


def materializations(key_path: list[str]) -> int:
    import dagster as dg

    instance = dg.DagsterInstance.get()
    return len(instance.fetch_materializations(dg.AssetKey(key_path), limit=100).records)


def test_regate_reuses_fresh_evidence_and_remeasures_only_what_changed(inventory, tmp_path, dagster_home):
    assert gate(inventory, tmp_path, "clean-model")[0] == 0
    assert gate(inventory, tmp_path, "clean-model")[0] == 0
    assert materializations(["clean-model", "artifact_scan"]) == 1
    assert materializations(["clean-model", "deployment_decision"]) == 2
    card = inventory / "models" / "clean-model" / "card.md"
    card.write_text(card.read_text().replace("Amara Okafor", "ML Team"))
    code, models = gate(inventory, tmp_path, "clean-model")
    assert code == 1 and any("owner" in r for r in models["clean-model"]["reasons"])
    assert materializations(["clean-model", "model_card"]) == 2
    assert materializations(["clean-model", "artifact_scan"]) == 1, "a card edit re-scanned the artifact"
    assert gate(inventory, tmp_path, "clean-model", "--force")[0] == 1
    assert materializations(["clean-model", "artifact_scan"]) == 2


def test_same_size_same_mtime_replacement_is_rescanned_and_blocked(inventory, tmp_path, dagster_home,
                                                                    monkeypatch):
    """The attack: after an approval, swap the weights for a malicious pickle padded to the same
    size and restore the old mtime. Only the bytes' sha256 may decide reuse."""
    import os

    assert gate(inventory, tmp_path, "clean-model")[0] == 0
    path = inventory / "models" / "clean-model" / "artifacts" / "model.safetensors"
    before = path.stat()
    monkeypatch.chdir(tmp_path)  # a short relative marker keeps the pickle under the file's size
    evil = malicious_pickle(Path("p"))
    assert len(evil) < before.st_size
    path.write_bytes(evil + b"\x00" * (before.st_size - len(evil)))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    for _ in range(2):
        code, models = gate(inventory, tmp_path, "clean-model")
        assert code == 1, models
        reasons = models["clean-model"]["reasons"]
        assert any("checksum mismatch" in r or "are not the registry's sha256" in r for r in reasons), reasons
    assert materializations(["clean-model", "artifact_scan"]) >= 2, "the swapped file was not re-scanned"
    assert not (tmp_path / "p").exists(), "the payload ran"


def test_an_empty_inventory_is_a_usage_error(tmp_path, dagster_home, capsys):
    empty = new_inventory(tmp_path / "empty")
    assert main(["gate", "--all", "--inventory", str(empty)]) == 2
    assert "no models selected" in capsys.readouterr().err


def write_manifest(tmp_path, **fields):
    import yaml

    manifest = {"model": "clean-model", "version": "1.0.0", "use_case": "invoice-totals",
                "environment": "dev", **fields}
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path


def test_use_case_outside_the_card_blocks_naming_the_mismatch(inventory, tmp_path, dagster_home):
    code, models = gate(inventory, tmp_path, "clean-model", "--use-case", "credit-scoring")
    assert code == 1
    assert any("credit-scoring" in r and "invoice-totals" in r for r in models["clean-model"]["reasons"])
    assert gate(inventory, tmp_path, "clean-model", "--use-case", "invoice-totals")[0] == 0


def test_deployment_manifest_carries_the_use_case(inventory, tmp_path, dagster_home):
    assert gate(inventory, tmp_path, "--manifest", str(write_manifest(tmp_path)))[0] == 0
    wrong_use = write_manifest(tmp_path, use_case="fraud-detection")
    code, models = gate(inventory, tmp_path, "--manifest", str(wrong_use))
    assert code == 1 and any("fraud-detection" in r for r in models["clean-model"]["reasons"])
    unknown_environment = write_manifest(tmp_path, environment="prod")
    code, models = gate(inventory, tmp_path, "--manifest", str(unknown_environment))
    assert code == 1 and any("not one of the policy's environments" in r for r in models["clean-model"]["reasons"])
    wrong_version = write_manifest(tmp_path, version="9.9.9")
    assert main(["gate", "--manifest", str(wrong_version), "--inventory", str(inventory)]) == 1
