"""The sensor path, end to end, against a real webserver and daemon (the daemon ticks the sensor
and launches its runs): a card edit is gated with the card's evidence and the decision only, and
a block is a decision (the run succeeds, the check fails, the run is tagged); a revert is gated
again and approved with the earlier evidence recorded again; a model added while the deployment
runs is gated on its own, never by an empty selection. After each, Dagster's stale badges agree."""

from __future__ import annotations

import os
import time

import pytest

from aisec_pipeline.cli import main
from inventory_builder import add_model, new_inventory, safetensors_bytes
from webserver import gated_on_its_own, gql, running_webserver

pytestmark = pytest.mark.slow

RUNS = """query($model: String!) { runsOrError(filter: {tags: [{key: "aisec/model", value: $model}]}) {
  ... on Runs { results { runId status jobName tags { key value } assetSelection { path } } } } }"""
DECISION = """query($path: [String!]!) { assetOrError(assetKey: {path: $path}) { ... on Asset {
  assetMaterializations(limit: 1) { runId metadataEntries { label ... on TextMetadataEntry { text } } } } } }"""


def runs(url: str, model: str) -> list[dict]:
    """The model's runs the deployment launched (the CLI's own are left out), newest first."""
    found = gql(url, RUNS, {"model": model})["runsOrError"]["results"]
    return [r for r in found if {"key": "aisec/trigger", "value": "cli"} not in r["tags"]]


def finished(url: str, model: str, count: int, timeout: float = 420) -> list[dict]:
    """The model's runs once `count` of them have ended (newest first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = runs(url, model)
        if len([r for r in found if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]) >= count:
            return found
        time.sleep(3)
    raise AssertionError(f"{model}: {count} finished run(s) expected, have {runs(url, model)}")


def decision_text(url: str, model: str) -> dict[str, str]:
    asset = gql(url, DECISION, {"path": [model, "deployment_decision"]})["assetOrError"]
    entries = asset["assetMaterializations"][0]["metadataEntries"]
    return {e["label"]: e.get("text") for e in entries}


def stale(url: str, model: str) -> dict[str, str]:
    nodes = gql(url, "{ assetNodes { assetKey { path } staleStatus } }")["assetNodes"]
    return {n["assetKey"]["path"][1]: n["staleStatus"] for n in nodes
            if n["assetKey"]["path"][0] == model and n["assetKey"]["path"][1] in
            ("artifact_scan", "model_card", "deployment_decision")}


def test_the_daemons_sensor_gates_edits_reverts_and_new_models(tmp_path, dagster_home, monkeypatch):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    monkeypatch.setenv("AISEC_INVENTORY", str(root))
    assert main(["gate", "--all", "--inventory", str(root)]) == 0
    card = root / "models" / "clean-model" / "card.md"
    original = card.read_text()
    env = {**os.environ, "AISEC_INVENTORY": str(root), "DAGSTER_HOME": str(dagster_home)}
    fresh = {"artifact_scan": "FRESH", "model_card": "FRESH", "deployment_decision": "FRESH"}
    with running_webserver(env, daemon=True) as base:
        url = f"{base}/graphql"
        assert stale(url, "clean-model") == fresh, "the CLI's gate is what the UI shows"
        card.write_text(original.replace("Extracts totals", "Extracts the totals"))
        [edit] = finished(url, "clean-model", 1)
        tags = {t["key"]: t["value"] for t in edit["tags"]}
        assert (edit["status"], tags["aisec/trigger"], tags["aisec/decision"]) == ("SUCCESS", "new-version", "blocked")
        assert sorted(k["path"][1] for k in edit["assetSelection"]) == ["deployment_decision", "model_card"]
        shown = decision_text(url, "clean-model")
        assert shown["verdict"] == "BLOCKED" and "review" in shown["summary"], shown
        assert stale(url, "clean-model") == fresh, "badges agree with the gate after a sensor run"

        card.write_text(original)
        revert = finished(url, "clean-model", 2)[0]
        assert revert["runId"] != edit["runId"] and revert["status"] == "SUCCESS"
        assert sorted(k["path"][1] for k in revert["assetSelection"]) == ["deployment_decision", "model_card"]
        assert decision_text(url, "clean-model")["verdict"] == "APPROVED"
        assert stale(url, "clean-model") == fresh, "badges agree after a revert that reused evidence"

        add_model(root, "late-model", safetensors_bytes(tmp_path), reviewed=False)
        [late] = finished(url, "late-model", 1)
        assert late["status"] == "SUCCESS" and gated_on_its_own(late, "late-model"), late
        assert decision_text(url, "late-model")["verdict"] == "BLOCKED"  # no review yet
        assert len(runs(url, "clean-model")) == 2, "adding a model gates no other model"
