"""New versions trigger exactly that model's gate, once per digest; schedules exist."""

from __future__ import annotations

import hashlib

import dagster as dg
import pytest
import yaml

from aisec_pipeline.orchestration.component import inventory_definitions
from inventory_builder import add_model, new_inventory, safetensors_bytes


def tick(defs, instance, cursor=None):
    sensor = defs.resolve_sensor_def("new_model_versions")
    context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(), cursor=cursor)
    return sensor(context)


@pytest.fixture
def two_models(tmp_path):
    """An inventory of alpha and beta (same weights); returns the root."""
    root = new_inventory(tmp_path / "assets")
    weights = safetensors_bytes(tmp_path)
    add_model(root, "alpha", weights)
    add_model(root, "beta", weights)
    return root


def test_new_digest_requests_exactly_that_models_gate_once(two_models, dagster_home):
    root = two_models
    weights = (root / "models" / "alpha" / "artifacts" / "model.safetensors").read_bytes()
    instance = dg.DagsterInstance.get()
    first = tick(inventory_definitions(root), instance)
    assert sorted(r.tags["aisec/model"] for r in first.run_requests) == ["alpha", "beta"]
    assert tick(inventory_definitions(root), instance, first.cursor).run_requests == []

    entry_file = root / "models" / "alpha" / "model.yaml"
    entry = yaml.safe_load(entry_file.read_text())
    new_bytes = weights.replace(b"dense.weight", b"dense.weighz")
    (root / "models" / "alpha" / "artifacts" / "model.safetensors").write_bytes(new_bytes)
    entry["version"], entry["artifacts"][0]["sha256"] = "1.1.0", hashlib.sha256(new_bytes).hexdigest()
    entry_file.write_text(yaml.safe_dump(entry))

    defs = inventory_definitions(root)
    changed = tick(defs, instance, first.cursor)
    assert len(changed.run_requests) == 1
    request = changed.run_requests[0]
    assert request.tags == {"aisec/model": "alpha", "aisec/version": "1.1.0",
                            "aisec/digest": entry["artifacts"][0]["sha256"], "aisec/trigger": "new-version"}
    assert request.run_key.startswith(f"alpha:1.1.0@{entry['artifacts'][0]['sha256']}#")
    assert {k.path[0] for k in request.asset_selection} == {"alpha"}
    assert dg.AssetKey(["alpha", "deployment_decision"]) in request.asset_selection
    assert tick(defs, instance, changed.cursor).run_requests == []


def test_a_card_edit_regates_that_model_only(two_models, dagster_home):
    root = two_models
    instance = dg.DagsterInstance.get()
    first = tick(inventory_definitions(root), instance)
    card = root / "models" / "beta" / "card.md"
    card.write_text(card.read_text().replace("Extracts totals", "Extracts the totals"))
    changed = tick(inventory_definitions(root), instance, first.cursor)
    assert [r.tags["aisec/model"] for r in changed.run_requests] == ["beta"]


@pytest.mark.slow
def test_the_first_tick_after_the_cli_gated_everything_requests_nothing(two_models, dagster_home):
    """Opening the UI (a sensor with no cursor yet) must not re-gate what the CLI just gated."""
    from aisec_pipeline.cli import main

    root = two_models
    assert main(["gate", "alpha", "--inventory", str(root)]) == 0
    instance = dg.DagsterInstance.get()
    first = tick(inventory_definitions(root), instance)
    assert [r.tags["aisec/model"] for r in first.run_requests] == ["beta"], "re-gated a gated model"
    assert tick(inventory_definitions(root), instance, first.cursor).run_requests == []


def test_schedules_and_jobs_are_defined(tmp_path):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "alpha", safetensors_bytes(tmp_path))
    defs = inventory_definitions(root)
    names = {s.name: s.cron_schedule for s in defs.schedules}
    assert names["daily_production_drift"] == "0 6 * * *"
    assert names["weekly_injection_rescan"] == "0 3 * * 1"
    assert defs.resolve_sensor_def("new_model_versions").default_status == dg.DefaultSensorStatus.RUNNING
