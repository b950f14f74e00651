"""The Dagster UI, checked: the webserver loads the workspace and its GraphQL API shows every
model's assets, checks, sensors and schedules, and a gated model's check results."""

from __future__ import annotations

import os

import pytest

from aisec_pipeline.cli import main
from inventory_builder import add_model, new_inventory, safetensors_bytes
from webserver import gql, running_webserver

pytestmark = pytest.mark.slow


@pytest.fixture
def inventory_root(tmp_path):
    return tmp_path / "assets"


@pytest.fixture
def webserver(tmp_path, dagster_home, monkeypatch, inventory_root):
    root = new_inventory(inventory_root)
    weights = safetensors_bytes(tmp_path)
    add_model(root, "clean-model", weights)
    add_model(root, "no-card", weights, card=False)
    monkeypatch.setenv("AISEC_INVENTORY", str(root))
    assert main(["gate", "--all", "--inventory", str(root)]) == 1
    env = {**os.environ, "AISEC_INVENTORY": str(root), "DAGSTER_HOME": str(dagster_home)}
    with running_webserver(env) as base:
        yield f"{base}/graphql"


def test_ui_shows_models_checks_sensors_schedules_and_results(webserver):
    nodes = gql(webserver, "{ assetNodes { assetKey { path } groupName "
                           "assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    for model in ("clean-model", "no-card"):
        for asset in ("artifact", "artifact_scan", "model_card", "deployment_decision"):
            assert f"{model}/{asset}" in keys, sorted(keys)
        checks = keys[f"{model}/deployment_decision"]["assetChecksOrError"]["checks"]
        assert checks == [{"name": "deployment_approved", "blocking": False},
                          {"name": "signoffs_verified", "blocking": False}], "a block is not a failed run"

    repos = gql(webserver, "{ repositoriesOrError { ... on RepositoryConnection { nodes { "
                           "sensors { name } schedules { name } } } } }")["repositoriesOrError"]["nodes"]
    assert "new_model_versions" in {s["name"] for s in repos[0]["sensors"]}
    assert {"daily_production_drift", "weekly_injection_rescan"} <= {s["name"] for s in repos[0]["schedules"]}

    query = ("query($key: AssetKeyInput!, $check: String!) { assetCheckExecutions("
             "assetKey: $key, checkName: $check, limit: 1) { status } }")
    approved = gql(webserver, query, {"key": {"path": ["clean-model", "deployment_decision"]},
                                      "check": "deployment_approved"})
    blocked = gql(webserver, query, {"key": {"path": ["no-card", "deployment_decision"]},
                                     "check": "deployment_approved"})
    assert approved["assetCheckExecutions"][0]["status"] == "SUCCEEDED"
    assert blocked["assetCheckExecutions"][0]["status"] == "FAILED"


def stale_statuses(url: str, model: str) -> dict[str, str]:
    nodes = gql(url, "{ assetNodes { assetKey { path } staleStatus } }")["assetNodes"]
    return {n["assetKey"]["path"][1]: n["staleStatus"] for n in nodes if n["assetKey"]["path"][0] == model}


def materialized(key: list[str]) -> int:
    import dagster as dg

    return len(dg.DagsterInstance.get().fetch_materializations(dg.AssetKey(key), limit=100).records)


def test_dagster_stale_badges_agree_with_what_the_gate_remeasures(webserver, inventory_root):
    """Edit a card: Dagster marks exactly model_card stale, and the gate re-measures exactly that."""
    import dagster as dg

    from aisec_pipeline.inventory import load_model
    from aisec_pipeline.orchestration.evidence import input_versions, record_observations, sha256_or_missing

    evidence = ("artifact_scan", "model_card")
    assert {k: stale_statuses(webserver, "clean-model")[k] for k in evidence} == \
        {"artifact_scan": "FRESH", "model_card": "FRESH"}
    card = inventory_root / "models" / "clean-model" / "card.md"
    card.write_text(card.read_text().replace("Extracts totals", "Extracts the totals"))
    model = load_model(inventory_root / "models" / "clean-model")
    observed = {a.path: sha256_or_missing(model.path(a.path)) for a in model.entry.artifacts}
    record_observations(dg.DagsterInstance.get(), input_versions(model, inventory_root, observed))
    assert {k: stale_statuses(webserver, "clean-model")[k] for k in evidence} == \
        {"artifact_scan": "FRESH", "model_card": "STALE"}

    before = {k: materialized(["clean-model", k]) for k in evidence}
    assert main(["gate", "clean-model", "--inventory", str(inventory_root)]) == 1  # the card needs a new review
    after = {k: materialized(["clean-model", k]) for k in evidence}
    assert after == {"artifact_scan": before["artifact_scan"], "model_card": before["model_card"] + 1}
    assert {k: stale_statuses(webserver, "clean-model")[k] for k in evidence} == \
        {"artifact_scan": "FRESH", "model_card": "FRESH"}
